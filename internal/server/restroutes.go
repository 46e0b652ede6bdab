package server

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// route is one REST binding of a gRPC method.
type route struct {
	method string // full gRPC method name
	input  protoreflect.MessageType
	body   string // the binding's body field: "", "*" or a field name
}

// decodeBody decodes a request body as grpc-gateway does, for the error.
func (rt route) decodeBody(b []byte) error {
	m := rt.input.New()
	target := m.Interface()
	if rt.body != "*" {
		fd := m.Descriptor().Fields().ByName(protoreflect.Name(rt.body))
		if fd == nil || fd.Message() == nil {
			return nil
		}
		target = m.Mutable(fd).Message().Interface()
	}
	return restMarshaler.NewDecoder(bytes.NewReader(b)).Decode(target)
}

// request is the route's request message with the path parameters filled
// in (for the audit record), or nil.
func (rt route) request(pathParams map[string]string) proto.Message {
	if rt.input == nil {
		return nil
	}
	m := rt.input.New().Interface()
	for k, v := range pathParams {
		_ = runtime.PopulateFieldFromPath(m, k, v)
	}
	return m
}

// routeTable maps the google.api.http bindings of the API's methods (as
// "VERB template", the form grpc-gateway's Pattern.String gives) to their
// methods; probe is a grpc-gateway mux with the same bindings, to find which
// methods a path accepts.
type routeTable struct {
	byPattern map[string]route
	verbs     []string
	probe     *runtime.ServeMux
}

// newRouteTable reads the bindings of every service of package pkg.
func newRouteTable(pkg protoreflect.FullName) (routeTable, error) {
	t := routeTable{
		byPattern: map[string]route{},
		probe: runtime.NewServeMux(
			runtime.WithRoutingErrorHandler(func(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, _ http.ResponseWriter, _ *http.Request, _ int) {
			}),
			runtime.WithDisablePathLengthFallback(),
		),
	}
	var err error
	protoregistry.GlobalFiles.RangeFilesByPackage(pkg, func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				md := sd.Methods().Get(j)
				rule, _ := proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule)
				if rule == nil {
					continue
				}
				input, ferr := protoregistry.GlobalTypes.FindMessageByName(md.Input().FullName())
				if ferr != nil {
					err = ferr
					return false
				}
				rt := route{method: "/" + string(sd.FullName()) + "/" + string(md.Name()), input: input}
				for _, b := range append([]*annotations.HttpRule{rule}, rule.GetAdditionalBindings()...) {
					verb, path := binding(b)
					if verb == "" {
						continue
					}
					rt.body = b.GetBody()
					t.byPattern[verb+" "+path] = rt
					if !slices.Contains(t.verbs, verb) {
						t.verbs = append(t.verbs, verb)
					}
					if err = t.probe.HandlePath(verb, path, func(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
						if p, ok := w.(*probeWriter); ok {
							p.matched = true
						}
					}); err != nil {
						return false
					}
				}
			}
		}
		return true
	})
	slices.Sort(t.verbs)
	return t, err
}

func binding(b *annotations.HttpRule) (verb, path string) {
	switch p := b.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		return http.MethodGet, p.Get
	case *annotations.HttpRule_Post:
		return http.MethodPost, p.Post
	case *annotations.HttpRule_Patch:
		return http.MethodPatch, p.Patch
	case *annotations.HttpRule_Put:
		return http.MethodPut, p.Put
	case *annotations.HttpRule_Delete:
		return http.MethodDelete, p.Delete
	case *annotations.HttpRule_Custom:
		return strings.ToUpper(p.Custom.GetKind()), p.Custom.GetPath()
	}
	return "", ""
}

// lookup returns the route of a matched pattern, or the zero route.
func (t routeTable) lookup(verb, pattern string) route { return t.byPattern[verb+" "+pattern] }

// allowed lists the methods whose routes match r's path, for Allow.
func (t routeTable) allowed(r *http.Request) string {
	var out []string
	for _, verb := range t.verbs {
		probe := r.Clone(r.Context())
		probe.Method, probe.Body, probe.ContentLength = verb, http.NoBody, 0
		pw := &probeWriter{header: http.Header{}}
		t.probe.ServeHTTP(pw, probe)
		if pw.matched {
			out = append(out, verb)
		}
	}
	return strings.Join(out, ", ")
}

// probeWriter is the ResponseWriter of a probe: it writes nothing.
type probeWriter struct {
	header  http.Header
	matched bool
}

func (p *probeWriter) Header() http.Header         { return p.header }
func (p *probeWriter) Write(b []byte) (int, error) { return len(b), nil }
func (p *probeWriter) WriteHeader(int)             {}

// allowedMethods is the Allow header of a 405.
func (e *restEdge) allowedMethods(r *http.Request) string { return e.routes.allowed(r) }
