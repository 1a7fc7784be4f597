package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	commonv1 "github.com/dapr/dapr/pkg/proto/common/v1"
	runtimev1 "github.com/dapr/dapr/pkg/proto/runtime/v1"
	dapr "github.com/dapr/go-sdk/client"
	// Registers google.rpc's detail types, so that the details of an error print as JSON.
	_ "google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/anypb"
)

// op is one SDK call; which fields count depends on Op.
type op struct {
	Op          string            `json:"op"`
	AppID       string            `json:"appId"`
	Method      string            `json:"method"`
	Verb        string            `json:"verb"`
	ContentType string            `json:"contentType"`
	Data        *string           `json:"data"`
	Content     json.RawMessage   `json:"content"`
	Store       string            `json:"store"`
	Key         string            `json:"key"`
	Keys        []string          `json:"keys"`
	Value       string            `json:"value"`
	Etag        *string           `json:"etag"`
	Concurrency string            `json:"concurrency"`
	Metadata    map[string]string `json:"metadata"`
	Items       []stateItem       `json:"items"`
	Ops         []txOp            `json:"ops"`
	Query       string            `json:"query"`
	Parallelism int32             `json:"parallelism"`
	TimeoutMs   int               `json:"timeoutMs"`
	// TraceID is a W3C traceparent the call carries (client.WithTraceID).
	TraceID string `json:"traceId"`
}

// stateItem is one item of SaveBulkState.
type stateItem struct {
	Key         string            `json:"key"`
	Value       string            `json:"value"`
	Etag        *string           `json:"etag"`
	Concurrency string            `json:"concurrency"`
	Metadata    map[string]string `json:"metadata"`
}

// txOp is one operation of ExecuteStateTransaction.
type txOp struct {
	Type string `json:"type"`
	stateItem
}

// result is what one operation returned: Value when it succeeded, Error when it failed.
type result struct {
	Ok    bool      `json:"ok"`
	Value any       `json:"value,omitempty"`
	Error *errorOut `json:"error,omitempty"`
}

// errorOut is an error as the SDK returned it, and the gRPC status inside it.
type errorOut struct {
	// Message is err.Error(): what the SDK's user sees.
	Message string `json:"message"`
	// Code is the gRPC status code's name (Unknown when the error carries no status).
	Code string `json:"code"`
	// StatusMessage is the gRPC status message.
	StatusMessage string `json:"statusMessage"`
	// Details are the google.rpc details, as protojson with their @type.
	Details []json.RawMessage `json:"details"`
}

func describeError(err error) *errorOut {
	out := &errorOut{Message: err.Error(), Details: []json.RawMessage{}}
	// The status the SDK wrapped (fmt.Errorf("...: %w")), not status.FromError's re-labelled copy.
	st := status.New(codes.Unknown, err.Error())
	var withStatus interface{ GRPCStatus() *status.Status }
	if errors.As(err, &withStatus) {
		st = withStatus.GRPCStatus()
	}
	out.Code = st.Code().String()
	out.StatusMessage = st.Message()
	for _, d := range st.Proto().GetDetails() {
		raw, mErr := protojson.Marshal(d)
		if mErr != nil {
			raw, _ = json.Marshal(map[string]string{"@type": d.GetTypeUrl()})
		}
		out.Details = append(out.Details, raw)
	}
	return out
}

func concurrency(name string) dapr.StateConcurrency {
	switch name {
	case "first-write":
		return dapr.StateConcurrencyFirstWrite
	case "last-write":
		return dapr.StateConcurrencyLastWrite
	}
	return dapr.StateConcurrencyUndefined
}

func (it stateItem) toSetStateItem() *dapr.SetStateItem {
	item := &dapr.SetStateItem{Key: it.Key, Value: []byte(it.Value), Metadata: it.Metadata}
	if it.Etag != nil {
		item.Etag = &dapr.ETag{Value: *it.Etag}
	}
	if it.Concurrency != "" {
		item.Options = &dapr.StateOptions{Concurrency: concurrency(it.Concurrency), Consistency: dapr.StateConsistencyStrong}
	}
	return item
}

// stateOut is a state item with its value as text.
type stateOut struct {
	Key      string            `json:"key"`
	Value    string            `json:"value"`
	Etag     string            `json:"etag"`
	Metadata map[string]string `json:"metadata"`
	Error    string            `json:"error,omitempty"`
}

// runOp performs one operation through the SDK client.
func runOp(ctx context.Context, c dapr.Client, o op) (any, error) {
	ctx = c.WithTraceID(ctx, o.TraceID)
	switch o.Op {
	case "wait":
		return nil, c.Wait(ctx, time.Duration(o.TimeoutMs)*time.Millisecond)
	case "invokeMethod":
		out, err := c.InvokeMethod(ctx, o.AppID, o.Method, o.Verb)
		return string(out), err
	case "invokeMethodWithContent":
		content := &dapr.DataContent{ContentType: o.ContentType}
		if o.Data != nil {
			content.Data = []byte(*o.Data)
		}
		out, err := c.InvokeMethodWithContent(ctx, o.AppID, o.Method, o.Verb, content)
		return string(out), err
	case "invokeMethodWithCustomContent":
		var content any
		if err := json.Unmarshal(o.Content, &content); err != nil {
			return nil, fmt.Errorf("probe: content: %w", err)
		}
		out, err := c.InvokeMethodWithCustomContent(ctx, o.AppID, o.Method, o.Verb, o.ContentType, content)
		return string(out), err
	case "invokeService":
		return invokeService(ctx, c, o)
	case "saveState":
		var opts []dapr.StateOption
		if o.Concurrency != "" {
			opts = append(opts, dapr.WithConcurrency(concurrency(o.Concurrency)))
		}
		if o.Etag != nil {
			return nil, c.SaveStateWithETag(ctx, o.Store, o.Key, []byte(o.Value), *o.Etag, o.Metadata, opts...)
		}
		return nil, c.SaveState(ctx, o.Store, o.Key, []byte(o.Value), o.Metadata, opts...)
	case "getState":
		item, err := c.GetState(ctx, o.Store, o.Key, o.Metadata)
		if err != nil {
			return nil, err
		}
		return stateOut{Key: item.Key, Value: string(item.Value), Etag: item.Etag, Metadata: item.Metadata}, nil
	case "getBulkState":
		items, err := c.GetBulkState(ctx, o.Store, o.Keys, o.Metadata, o.Parallelism)
		if err != nil {
			return nil, err
		}
		out := []stateOut{}
		for _, it := range items {
			out = append(out, stateOut{Key: it.Key, Value: string(it.Value), Etag: it.Etag, Metadata: it.Metadata, Error: it.Error})
		}
		return out, nil
	case "saveBulkState":
		items := make([]*dapr.SetStateItem, 0, len(o.Items))
		for _, it := range o.Items {
			items = append(items, it.toSetStateItem())
		}
		return nil, c.SaveBulkState(ctx, o.Store, items...)
	case "deleteState":
		if o.Etag != nil {
			opts := &dapr.StateOptions{Concurrency: concurrency(o.Concurrency), Consistency: dapr.StateConsistencyStrong}
			return nil, c.DeleteStateWithETag(ctx, o.Store, o.Key, &dapr.ETag{Value: *o.Etag}, o.Metadata, opts)
		}
		return nil, c.DeleteState(ctx, o.Store, o.Key, o.Metadata)
	case "deleteBulkState":
		return nil, c.DeleteBulkState(ctx, o.Store, o.Keys, o.Metadata)
	case "deleteBulkStateItems":
		items := make([]*dapr.DeleteStateItem, 0, len(o.Items))
		for _, it := range o.Items {
			items = append(items, (*dapr.DeleteStateItem)(it.toSetStateItem()))
		}
		return nil, c.DeleteBulkStateItems(ctx, o.Store, items)
	case "executeStateTransaction":
		ops := make([]*dapr.StateOperation, 0, len(o.Ops))
		for _, t := range o.Ops {
			kind := dapr.StateOperationTypeUpsert
			if t.Type == "delete" {
				kind = dapr.StateOperationTypeDelete
			}
			ops = append(ops, &dapr.StateOperation{Type: kind, Item: t.toSetStateItem()})
		}
		return nil, c.ExecuteStateTransaction(ctx, o.Store, o.Metadata, ops)
	case "queryState":
		res, err := c.QueryStateAlpha1(ctx, o.Store, o.Query, o.Metadata)
		if err != nil {
			return nil, err
		}
		out := map[string]any{"token": res.Token, "metadata": res.Metadata}
		results := []stateOut{}
		for _, r := range res.Results {
			results = append(results, stateOut{Key: r.Key, Value: string(r.Value), Etag: r.Etag, Error: r.Error})
		}
		out["results"] = results
		return out, nil
	case "getSecret":
		return c.GetSecret(ctx, o.Store, o.Key, o.Metadata)
	case "getBulkSecret":
		return c.GetBulkSecret(ctx, o.Store, o.Metadata)
	case "getMetadata":
		return c.GetMetadata(ctx)
	case "setMetadata":
		return nil, c.SetMetadata(ctx, o.Key, o.Value)
	}
	return nil, fmt.Errorf("probe: unknown op %q", o.Op)
}

// invokeService calls InvokeService on the SDK's own gRPC client (GrpcClient()), the one way the
// SDK shows the answer's content type and the response headers.
func invokeService(ctx context.Context, c dapr.Client, o op) (any, error) {
	msg := &commonv1.InvokeRequest{Method: o.Method, ContentType: o.ContentType}
	if o.Data != nil {
		msg.Data = &anypb.Any{Value: []byte(*o.Data)}
	}
	if v, ok := commonv1.HTTPExtension_Verb_value[o.Verb]; ok {
		msg.HttpExtension = &commonv1.HTTPExtension{Verb: commonv1.HTTPExtension_Verb(v), Querystring: o.Query}
	}
	var header metadata.MD
	res, err := c.GrpcClient().InvokeService(ctx, &runtimev1.InvokeServiceRequest{Id: o.AppID, Message: msg}, grpc.Header(&header))
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"contentType": res.GetContentType(),
		"data":        string(res.GetData().GetValue()),
		"typeUrl":     res.GetData().GetTypeUrl(),
		"header":      header,
	}, nil
}

// runClient reads the operations, runs them in order with one client and writes the results.
func runClient(in io.Reader, out io.Writer) error {
	// The SDK logs to stdout by default; stdout carries the results.
	dapr.SetLogger(log.New(os.Stderr, "dapr client: ", 0))
	var ops []op
	if err := json.NewDecoder(in).Decode(&ops); err != nil {
		return fmt.Errorf("stdin: %w", err)
	}
	// PROBE_DAPR_SOCKET: the sidecar's gRPC API on a unix socket (daprd's --unix-domain-socket).
	var c dapr.Client
	var err error
	if socket := os.Getenv("PROBE_DAPR_SOCKET"); socket != "" {
		c, err = dapr.NewClientWithSocket(socket)
	} else {
		c, err = dapr.NewClient()
	}
	if err != nil {
		return err
	}
	defer c.Close()
	results := make([]result, 0, len(ops))
	for _, o := range ops {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		value, err := runOp(ctx, c, o)
		cancel()
		if err != nil {
			results = append(results, result{Error: describeError(err)})
		} else {
			results = append(results, result{Ok: true, Value: value})
		}
	}
	return json.NewEncoder(out).Encode(results)
}
