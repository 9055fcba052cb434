// Command aether-host loads one aether source plugin the way aether does, with the real
// hashicorp/go-plugin client, and reports what happens as JSON lines on stdout. The plugin's
// own stderr is re-emitted by go-plugin as hclog JSON on this program's stderr.
//
// Usage: aether-host [flags] <plugin path>
//
// Build (GOPATH mode, Debian packages only):
//
//	GOPATH=/usr/share/gocode GO111MODULE=off go build -o aether-host .
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	proto "github.com/golang/protobuf/proto"
	hclog "github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// The handshake aether uses for source plugins.
const (
	cookieKey   = "AETHER_SOURCE_PLUGIN"
	cookieValue = "9cf50efe-f360-4c46-997f-e1ce7317adaf"
)

// The messages of aether's source.proto (package "proto"), written by hand with golang/protobuf
// 1.3 struct tags instead of generated code: the Debian toolchain has no protoc. The Go package
// name does not matter on the wire; only field numbers, types and the method names do.

type Empty struct{}

func (m *Empty) Reset()         { *m = Empty{} }
func (m *Empty) String() string { return proto.CompactTextString(m) }
func (*Empty) ProtoMessage()    {}

type ResourceEmissions struct {
	Value float64 `protobuf:"fixed64,1,opt,name=value,proto3" json:"value"`
	Unit  string  `protobuf:"bytes,2,opt,name=unit,proto3" json:"unit"`
}

func (m *ResourceEmissions) Reset()         { *m = ResourceEmissions{} }
func (m *ResourceEmissions) String() string { return proto.CompactTextString(m) }
func (*ResourceEmissions) ProtoMessage()    {}

type Metric struct {
	Name       string  `protobuf:"bytes,1,opt,name=name,proto3" json:"name"`
	Usage      float64 `protobuf:"fixed64,2,opt,name=usage,proto3" json:"usage"`
	UnitAmount float64 `protobuf:"fixed64,3,opt,name=unit_amount,json=unitAmount,proto3" json:"unit_amount"`
	// A pointer, so that a Metric sent without emissions prints as null: aether dereferences it.
	Emissions    *ResourceEmissions `protobuf:"bytes,4,opt,name=emissions,proto3" json:"emissions"`
	Labels       map[string]string  `protobuf:"bytes,5,rep,name=labels,proto3" protobuf_key:"bytes,1,opt,name=key,proto3" protobuf_val:"bytes,2,opt,name=value,proto3" json:"labels"`
	Unit         string             `protobuf:"bytes,6,opt,name=unit,proto3" json:"unit"`
	UpdatedAt    int64              `protobuf:"varint,7,opt,name=updated_at,json=updatedAt,proto3" json:"updated_at"`
	ResourceType string             `protobuf:"bytes,8,opt,name=resource_type,json=resourceType,proto3" json:"resource_type"`
	Energy       float64            `protobuf:"fixed64,9,opt,name=energy,proto3" json:"energy"`
}

func (m *Metric) Reset()         { *m = Metric{} }
func (m *Metric) String() string { return proto.CompactTextString(m) }
func (*Metric) ProtoMessage()    {}

// InstanceRequest has no field 7; id is field 11.
type InstanceRequest struct {
	Id                string             `protobuf:"bytes,11,opt,name=id,proto3" json:"id"`
	Provider          string             `protobuf:"bytes,1,opt,name=provider,proto3" json:"provider"`
	Service           string             `protobuf:"bytes,2,opt,name=service,proto3" json:"service"`
	Name              string             `protobuf:"bytes,3,opt,name=name,proto3" json:"name"`
	Region            string             `protobuf:"bytes,4,opt,name=region,proto3" json:"region"`
	Zone              string             `protobuf:"bytes,5,opt,name=zone,proto3" json:"zone"`
	Kind              string             `protobuf:"bytes,6,opt,name=kind,proto3" json:"kind"`
	EmbodiedEmissions *ResourceEmissions `protobuf:"bytes,8,opt,name=EmbodiedEmissions,proto3" json:"embodied_emissions"`
	Metrics           map[string]*Metric `protobuf:"bytes,9,rep,name=metrics,proto3" protobuf_key:"bytes,1,opt,name=key,proto3" protobuf_val:"bytes,2,opt,name=value,proto3" json:"metrics"`
	Labels            map[string]string  `protobuf:"bytes,10,rep,name=labels,proto3" protobuf_key:"bytes,1,opt,name=key,proto3" protobuf_val:"bytes,2,opt,name=value,proto3" json:"labels"`
	Status            string             `protobuf:"bytes,12,opt,name=status,proto3" json:"status"`
}

func (m *InstanceRequest) Reset()         { *m = InstanceRequest{} }
func (m *InstanceRequest) String() string { return proto.CompactTextString(m) }
func (*InstanceRequest) ProtoMessage()    {}

type ListInstanceResponse struct {
	Instances []*InstanceRequest `protobuf:"bytes,1,rep,name=instances,proto3" json:"instances"`
}

func (m *ListInstanceResponse) Reset()         { *m = ListInstanceResponse{} }
func (m *ListInstanceResponse) String() string { return proto.CompactTextString(m) }
func (*ListInstanceResponse) ProtoMessage()    {}

// StdioData is plugin.StdioData of newer go-plugin releases (1.0.1 has no stdio service).
// channel: 1 stdout, 2 stderr.
type StdioData struct {
	Channel int32  `protobuf:"varint,1,opt,name=channel,proto3"`
	Data    []byte `protobuf:"bytes,2,opt,name=data,proto3"`
}

func (m *StdioData) Reset()         { *m = StdioData{} }
func (m *StdioData) String() string { return proto.CompactTextString(m) }
func (*StdioData) ProtoMessage()    {}

// sourcePlugin hands out the raw connection, so that methods are called by their full names
// and no generated client is needed.
type sourcePlugin struct{ plugin.NetRPCUnsupportedPlugin }

func (sourcePlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return errors.New("aether-host only runs the client side")
}

func (sourcePlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, conn *grpc.ClientConn) (interface{}, error) {
	return conn, nil
}

var stdoutMu sync.Mutex

// emit writes one event line, "event" first; the stdio reader emits concurrently.
func emit(event string, fields map[string]interface{}) {
	head, _ := json.Marshal(event)
	body, err := json.Marshal(fields)
	if err != nil {
		body, _ = json.Marshal(map[string]string{"marshalError": err.Error()})
	}
	line := append([]byte(`{"event":`), head...)
	if len(body) > 2 {
		line = append(line, ',')
	}
	line = append(line, body[1:]...)
	line = append(line, '\n')
	stdoutMu.Lock()
	defer stdoutMu.Unlock()
	os.Stdout.Write(line) // unbuffered: each event reaches the reader at once
}

// withError adds a gRPC error's message (the status message, not "rpc error: ...") and code.
func withError(fields map[string]interface{}, err error) map[string]interface{} {
	st := status.Convert(err)
	fields["error"] = st.Message()
	fields["code"] = st.Code().String()
	return fields
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func main() {
	cookie := flag.String("cookie", cookieValue, "magic cookie value handed to the plugin")
	fetches := flag.Int("fetches", 1, "number of Fetch calls")
	every := flag.Duration("every", 0, "pause between fetches")
	fetchTimeout := flag.Duration("fetch-timeout", 0, "deadline of each Fetch (0: none)")
	startTimeout := flag.Duration("start-timeout", time.Minute, "how long to wait for the handshake")
	stdio := flag.Bool("stdio", false, "open /plugin.GRPCStdio/StreamStdio as newer go-plugin hosts do")
	stop := flag.Bool("stop", false, "call /proto.Source/Stop after the fetches")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: aether-host [flags] <plugin path>")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	pluginPath := flag.Arg(0)
	name := filepath.Base(pluginPath)

	logger := hclog.New(&hclog.LoggerOptions{
		Name:       "aether",
		Output:     os.Stderr,
		Level:      hclog.Trace,
		JSONFormat: true,
	})
	// aether runs the file itself (shebang scripts included), with no arguments.
	cmd := exec.Command(pluginPath)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig: plugin.HandshakeConfig{
			ProtocolVersion:  1,
			MagicCookieKey:   cookieKey,
			MagicCookieValue: *cookie,
		},
		Plugins:          map[string]plugin.Plugin{name: &sourcePlugin{}},
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           logger,
		StartTimeout:     *startTimeout,
	})

	rpcClient, err := client.Client()
	if err != nil {
		emit("error", map[string]interface{}{"stage": "start", "error": err.Error()})
		// Start already killed the process; Kill waits for go-plugin's goroutines, unless a
		// grandchild still holds the plugin's stderr open.
		killed := make(chan struct{})
		go func() { client.Kill(); close(killed) }()
		select {
		case <-killed:
		case <-time.After(5 * time.Second):
		}
		os.Exit(3)
	}
	started := map[string]interface{}{"protocol": string(client.Protocol())}
	if rc := client.ReattachConfig(); rc != nil {
		started["network"] = rc.Addr.Network()
		started["address"] = rc.Addr.String()
		started["pid"] = rc.Pid
	}
	emit("started", started)

	raw, err := rpcClient.Dispense(name)
	if err != nil {
		emit("error", map[string]interface{}{"stage": "dispense", "error": err.Error()})
		client.Kill()
		os.Exit(3)
	}
	conn := raw.(*grpc.ClientConn)

	// Newer go-plugin hosts open the stdio stream right after connecting, before anything else.
	var stdioDone chan error
	stdioErr := error(nil)
	if *stdio {
		stdioDone = make(chan error, 1)
		stream, err := conn.NewStream(context.Background(),
			&grpc.StreamDesc{StreamName: "StreamStdio", ServerStreams: true},
			"/plugin.GRPCStdio/StreamStdio")
		if err == nil {
			err = stream.SendMsg(&Empty{})
		}
		if err == nil {
			err = stream.CloseSend()
		}
		if err != nil {
			stdioErr = err
		} else {
			go func() {
				for {
					var d StdioData
					if err := stream.RecvMsg(&d); err != nil {
						stdioDone <- err
						return
					}
					emit("stdio-data", map[string]interface{}{"channel": d.Channel, "data": string(d.Data)})
				}
			}()
		}
	}

	if err := rpcClient.Ping(); err != nil {
		emit("ping", withError(map[string]interface{}{"ok": false}, err))
	} else {
		emit("ping", map[string]interface{}{"ok": true})
	}

	health := grpc_health_v1.NewHealthClient(conn)
	for _, service := range []string{"plugin", "", "nope"} {
		resp, err := health.Check(context.Background(), &grpc_health_v1.HealthCheckRequest{Service: service})
		if err != nil {
			emit("health", withError(map[string]interface{}{"service": service}, err))
		} else {
			emit("health", map[string]interface{}{"service": service, "status": resp.Status.String()})
		}
	}

	for i := 1; i <= *fetches; i++ {
		if i > 1 && *every > 0 {
			time.Sleep(*every)
		}
		ctx, cancel := context.Background(), context.CancelFunc(func() {})
		if *fetchTimeout > 0 {
			ctx, cancel = context.WithTimeout(ctx, *fetchTimeout)
		}
		var resp ListInstanceResponse
		t0 := time.Now()
		err := conn.Invoke(ctx, "/proto.Source/Fetch", &Empty{}, &resp)
		ms := millis(time.Since(t0))
		cancel()
		if err != nil {
			emit("fetch", withError(map[string]interface{}{"n": i, "ms": ms}, err))
			continue
		}
		emit("fetch", map[string]interface{}{"n": i, "ms": ms, "instances": normalize(resp.Instances)})
	}

	if *stop {
		if err := conn.Invoke(context.Background(), "/proto.Source/Stop", &Empty{}, &Empty{}); err != nil {
			emit("stop", withError(map[string]interface{}{"ok": false}, err))
		} else {
			emit("stop", map[string]interface{}{"ok": true})
		}
	}

	if *stdio {
		ev := map[string]interface{}{"opened": stdioErr == nil, "error": "", "closedBeforeKill": stdioErr != nil}
		if stdioErr == nil {
			// A missing service fails the stream with its first read; allow that reply to arrive.
			select {
			case stdioErr = <-stdioDone:
			case <-time.After(200 * time.Millisecond):
			}
			if stdioErr != nil {
				ev["closedBeforeKill"] = true
				if stdioErr != io.EOF {
					ev["opened"] = false
				}
			}
		}
		if stdioErr != nil && stdioErr != io.EOF {
			withError(ev, stdioErr)
		}
		emit("stdio", ev)
	}

	// Kill asks the plugin to shut down (GRPCController.Shutdown), waits up to 2 s for it to
	// exit, then sends SIGKILL.
	t0 := time.Now()
	client.Kill()
	kill := map[string]interface{}{"ms": millis(time.Since(t0)), "exited": client.Exited()}
	// go-plugin has waited for the process, so its exit status is ours to read.
	if ps := cmd.ProcessState; ps != nil {
		kill["exitCode"] = ps.ExitCode()
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			kill["signal"] = ws.Signal().String()
		}
	}
	emit("kill", kill)
}

// normalize turns absent maps into empty ones (proto3 cannot tell them apart) so that null in
// the output only ever means a missing sub-message.
func normalize(instances []*InstanceRequest) []*InstanceRequest {
	if instances == nil {
		instances = []*InstanceRequest{}
	}
	for _, in := range instances {
		if in == nil {
			continue
		}
		if in.Labels == nil {
			in.Labels = map[string]string{}
		}
		if in.Metrics == nil {
			in.Metrics = map[string]*Metric{}
		}
		for _, m := range in.Metrics {
			if m != nil && m.Labels == nil {
				m.Labels = map[string]string{}
			}
		}
	}
	return instances
}
