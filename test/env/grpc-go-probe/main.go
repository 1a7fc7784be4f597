// grpc-go-probe calls one method of a gRPC server through grpc-go, the gRPC and HTTP/2 stack of
// daprd, with messages that are already protobuf-encoded. Messages come on stdin, one hex string
// per line; the answer goes to stdout as one JSON object (status, metadata, messages in hex).
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// rawCodec passes bytes through: the caller encodes and decodes the messages itself.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }

func (rawCodec) Unmarshal(data []byte, v any) error {
	b := v.(*[]byte)
	*b = append((*b)[:0], data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }

type result struct {
	Code     uint32              `json:"code"`
	Message  string              `json:"message"`
	Header   map[string][]string `json:"header"`
	Trailer  map[string][]string `json:"trailer"`
	Messages []string            `json:"messages"`
	// Peer is the server's SPIFFE ID when the call went over mTLS.
	Peer string `json:"peer"`
}

func main() {
	addr := flag.String("addr", "", "server host:port")
	method := flag.String("method", "", "full method name, /package.Service/Method")
	stream := flag.Bool("stream", false, "a bidirectional streaming call instead of a unary one")
	timeout := flag.Duration("timeout", 30*time.Second, "deadline of the call")
	certFile := flag.String("cert", "", "mTLS: our certificate chain (PEM)")
	keyFile := flag.String("key", "", "mTLS: our private key (PEM)")
	caFile := flag.String("ca", "", "mTLS: trust anchors that must sign the server's certificate (PEM)")
	flag.Parse()
	if *addr == "" || *method == "" {
		fmt.Fprintln(os.Stderr, "usage: grpc-go-probe -addr host:port -method /pkg.Svc/M [-stream] < messages.hex")
		os.Exit(2)
	}
	var requests [][]byte
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	for in.Scan() {
		line := strings.TrimSpace(in.Text())
		msg, err := hex.DecodeString(line)
		if err != nil {
			fail(fmt.Errorf("stdin: %w", err))
		}
		requests = append(requests, msg)
	}
	if err := in.Err(); err != nil {
		fail(err)
	}

	out := result{Header: map[string][]string{}, Trailer: map[string][]string{}, Messages: []string{}}
	creds := insecure.NewCredentials()
	if *caFile != "" {
		creds = credentials.NewTLS(spiffeTLS(*certFile, *keyFile, *caFile, &out.Peer))
	}
	conn, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		fail(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "x-probe", "grpc-go")

	var header, trailer metadata.MD
	var callErr error
	if *stream {
		desc := &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}
		s, err := conn.NewStream(ctx, desc, *method, grpc.ForceCodec(rawCodec{}))
		if err != nil {
			fail(err)
		}
		for _, m := range requests {
			if err := s.SendMsg(&m); err != nil {
				break // the status comes from RecvMsg
			}
		}
		_ = s.CloseSend()
		for {
			var m []byte
			if err := s.RecvMsg(&m); err != nil {
				if !errors.Is(err, io.EOF) {
					callErr = err
				}
				break
			}
			out.Messages = append(out.Messages, hex.EncodeToString(m))
		}
		header, _ = s.Header()
		trailer = s.Trailer()
	} else {
		if len(requests) != 1 {
			fail(fmt.Errorf("a unary call takes one message, got %d", len(requests)))
		}
		var reply []byte
		callErr = conn.Invoke(ctx, *method, &requests[0], &reply,
			grpc.ForceCodec(rawCodec{}), grpc.Header(&header), grpc.Trailer(&trailer))
		if callErr == nil {
			out.Messages = append(out.Messages, hex.EncodeToString(reply))
		}
	}
	st := status.Convert(callErr)
	out.Code = uint32(st.Code())
	out.Message = st.Message()
	for k, v := range header {
		out.Header[k] = v
	}
	for k, v := range trailer {
		out.Trailer[k] = v
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fail(err)
	}
}

// spiffeTLS verifies the server the way daprd does (go-spiffe): the chain must lead to the trust
// anchors and the leaf must carry a SPIFFE ID; host names are not checked. With certFile empty
// no client certificate is sent.
func spiffeTLS(certFile, keyFile, caFile string, peer *string) *tls.Config {
	pemBytes, err := os.ReadFile(caFile)
	if err != nil {
		fail(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pemBytes) {
		fail(fmt.Errorf("no certificates in %s", caFile))
	}
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // replaced by VerifyPeerCertificate below
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("server sent no certificate")
			}
			certs := make([]*x509.Certificate, len(raw))
			for i, r := range raw {
				c, err := x509.ParseCertificate(r)
				if err != nil {
					return err
				}
				certs[i] = c
			}
			inter := x509.NewCertPool()
			for _, c := range certs[1:] {
				inter.AddCert(c)
			}
			if _, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter}); err != nil {
				return err
			}
			for _, u := range certs[0].URIs {
				if u.Scheme == "spiffe" {
					*peer = u.String()
					return nil
				}
			}
			return errors.New("server certificate has no SPIFFE ID")
		},
	}
	if certFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			fail(err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "grpc-go-probe:", err)
	os.Exit(1)
}
