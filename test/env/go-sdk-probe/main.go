// go-sdk-probe drives the official Dapr Go SDK (github.com/dapr/go-sdk), unchanged, for the SDK
// compatibility tests. The TypeScript tests call it and hold the assertions:
//
//	go-sdk-probe client            runs the operations of a JSON array on stdin with one SDK client
//	                               (dapr.NewClient: DAPR_GRPC_PORT, DAPR_API_TOKEN) and prints one
//	                               JSON array of results, one per operation, in order
//	go-sdk-probe grpc-app -port N  serves invocation handlers with the SDK's service/grpc
//	go-sdk-probe http-app -port N  serves the same handlers with the SDK's service/http
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "client":
		err = runClient(os.Stdin, os.Stdout)
	case "grpc-app":
		err = runApp("grpc", os.Args[2:])
	case "http-app":
		err = runApp("http", os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "go-sdk-probe %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: go-sdk-probe client < ops.json | go-sdk-probe grpc-app -port N | go-sdk-probe http-app -port N")
	os.Exit(2)
}
