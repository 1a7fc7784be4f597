package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/dapr/go-sdk/service/common"
	daprgrpc "github.com/dapr/go-sdk/service/grpc"
	daprhttp "github.com/dapr/go-sdk/service/http"
	"google.golang.org/grpc/metadata"
)

// seen is what an invocation handler received, answered by the `echo` handler.
type seen struct {
	Data        string `json:"data"`
	ContentType string `json:"contentType"`
	DataTypeURL string `json:"typeUrl"`
	Verb        string `json:"verb"`
	Query       string `json:"query"`
	// CallerAppID is the dapr-caller-app-id metadata (gRPC) or header (HTTP) the sidecar sent.
	CallerAppID string `json:"callerAppId"`
	// Traceparent is the W3C trace context the sidecar sent.
	Traceparent string `json:"traceparent"`
}

// echo answers, as JSON, what the SDK handed the handler.
func echo(ctx context.Context, in *common.InvocationEvent) (*common.Content, error) {
	out := seen{
		Data:        string(in.Data),
		ContentType: in.ContentType,
		DataTypeURL: in.DataTypeURL,
		Verb:        in.Verb,
		Query:       in.QueryString,
	}
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get("dapr-caller-app-id"); len(v) > 0 {
			out.CallerAppID = v[0]
		}
		if v := md.Get("traceparent"); len(v) > 0 {
			out.Traceparent = v[0]
		}
	}
	body, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	return &common.Content{Data: body, ContentType: "application/json"}, nil
}

// reply answers with a content type of its own choosing.
func reply(_ context.Context, in *common.InvocationEvent) (*common.Content, error) {
	return &common.Content{Data: []byte("reply to " + string(in.Data)), ContentType: "text/x-probe"}, nil
}

// fail answers with an error naming what it received.
func fail(_ context.Context, in *common.InvocationEvent) (*common.Content, error) {
	return nil, fmt.Errorf("probe handler failed on %q", string(in.Data))
}

// runApp serves echo, reply and fail with the SDK's gRPC or HTTP service until SIGTERM/SIGINT.
func runApp(kind string, args []string) error {
	flags := flag.NewFlagSet(kind+"-app", flag.ContinueOnError)
	port := flags.Int("port", 0, "port to listen on (127.0.0.1)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *port == 0 {
		return errors.New("-port is required")
	}
	address := net.JoinHostPort("127.0.0.1", strconv.Itoa(*port))
	var svc common.Service
	if kind == "grpc" {
		s, err := daprgrpc.NewService(address)
		if err != nil {
			return err
		}
		svc = s
	} else {
		svc = daprhttp.NewService(address)
	}
	handlers := map[string]common.ServiceInvocationHandler{"echo": echo, "reply": reply, "fail": fail}
	for name, fn := range handlers {
		if err := svc.AddServiceInvocationHandler(name, fn); err != nil {
			return fmt.Errorf("handler %s: %w", name, err)
		}
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- svc.Start() }()
	fmt.Printf("%s app serving on %s\n", kind, address)
	select {
	case err := <-done:
		return err
	case <-stop:
		return svc.Stop()
	}
}
