package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// maxControlBody bounds a control request's body.
const maxControlBody = 16 << 10

// ControlHandler serves the emulator's control API under prefix (e.g.
// "/sandbox/emulator/"; it must end in "/"), in JSON:
//
//	GET    prefix+"faults"       the faults in force, in matching order
//	POST   prefix+"faults"       add a fault (a FaultJSON); answers 201 with its id
//	DELETE prefix+"faults/{id}"  remove one fault (404 if unknown)
//	DELETE prefix+"faults"       remove every fault
//	GET    prefix+"stats"        Stats
//	DELETE prefix+"stats"        ResetStats
//
// It is not served on the emulator's own HTTPS servers (whose clients hold
// API tokens): the host mounts it, as the sandbox does on the gateway's
// HTTP listener. Bodies are limited to 16 KiB.
func (e *Emulator) ControlHandler(prefix string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+prefix+"faults", func(w http.ResponseWriter, _ *http.Request) {
		out := []ActiveFaultJSON{}
		for _, af := range e.Faults() {
			out = append(out, ActiveFaultJSON{ID: af.ID, Remaining: af.Remaining, Fault: faultToJSON(af.Fault)})
		}
		writeControl(w, http.StatusOK, out)
	})
	mux.HandleFunc("POST "+prefix+"faults", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxControlBody))
		if err != nil {
			controlError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body must be at most %d bytes", maxControlBody))
			return
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		var fj FaultJSON
		if err := dec.Decode(&fj); err != nil {
			controlError(w, http.StatusBadRequest, "the body must be one fault object with known fields")
			return
		}
		f, err := fj.fault()
		if err != nil {
			controlError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeControl(w, http.StatusCreated, map[string]int{"id": e.AddFault(f)})
	})
	mux.HandleFunc("DELETE "+prefix+"faults", func(w http.ResponseWriter, _ *http.Request) {
		e.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("DELETE "+prefix+"faults/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.Atoi(r.PathValue("id"))
		if err != nil || !e.RemoveFault(id) {
			controlError(w, http.StatusNotFound, "no fault with that id")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET "+prefix+"stats", func(w http.ResponseWriter, _ *http.Request) {
		out := []RouteStatsJSON{}
		for _, s := range e.Stats() {
			sj := RouteStatsJSON{API: s.API, TenantID: s.TenantID, Route: s.Route,
				Accepted: s.Accepted, Limited: s.Limited, Faulted429: s.Faulted429}
			for _, ws := range s.Windows {
				sj.Windows = append(sj.Windows, WindowStatsJSON{Count: ws.Count, Per: ws.Per.String(), MaxAccepted: ws.MaxAccepted})
			}
			out = append(out, sj)
		}
		writeControl(w, http.StatusOK, out)
	})
	mux.HandleFunc("DELETE "+prefix+"stats", func(w http.ResponseWriter, _ *http.Request) {
		e.ResetStats()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc(prefix, func(w http.ResponseWriter, _ *http.Request) {
		controlError(w, http.StatusNotFound, "unknown control route")
	})
	return mux
}

// FaultJSON is a Fault in the control API: durations are Go duration
// strings ("2s", "1500ms").
type FaultJSON struct {
	API        string `json:"api"`
	Tenant     string `json:"tenant,omitempty"`
	Method     string `json:"method,omitempty"`
	PathPrefix string `json:"pathPrefix,omitempty"`
	PathSuffix string `json:"pathSuffix,omitempty"`
	Query      string `json:"query,omitempty"`
	Status     int    `json:"status,omitempty"`
	Code       string `json:"code,omitempty"`
	Message    string `json:"message,omitempty"`
	RetryAfter string `json:"retryAfter,omitempty"`
	Times      int    `json:"times,omitempty"`
	Delay      string `json:"delay,omitempty"`
	Reset      bool   `json:"reset,omitempty"`
	Truncate   bool   `json:"truncate,omitempty"`
	Malformed  bool   `json:"malformed,omitempty"`
	// DropNextLink is Fault.DropNextLink.
	DropNextLink bool `json:"dropNextLink,omitempty"`
	// AfterHandler is Fault.AfterHandler.
	AfterHandler bool `json:"afterHandler,omitempty"`
}

// ActiveFaultJSON is an ActiveFault in the control API.
type ActiveFaultJSON struct {
	ID        int       `json:"id"`
	Remaining int       `json:"remaining,omitempty"`
	Fault     FaultJSON `json:"fault"`
}

// RouteStatsJSON is a RouteStats in the control API.
type RouteStatsJSON struct {
	API        string            `json:"api"`
	TenantID   string            `json:"tenantId"`
	Route      string            `json:"route"`
	Accepted   int               `json:"accepted"`
	Limited    int               `json:"limited"`
	Faulted429 int               `json:"faulted429"`
	Windows    []WindowStatsJSON `json:"windows,omitempty"`
}

// WindowStatsJSON is a WindowStats in the control API.
type WindowStatsJSON struct {
	Count       int    `json:"count"`
	Per         string `json:"per"`
	MaxAccepted int    `json:"maxAccepted"`
}

func (fj FaultJSON) fault() (Fault, error) {
	switch fj.API {
	case APIEntra, APIGraph, APIXDR:
	default:
		return Fault{}, errors.New(`api must be "entra", "graph" or "xdr"`)
	}
	f := Fault{API: fj.API, Tenant: fj.Tenant, Method: fj.Method, PathPrefix: fj.PathPrefix, PathSuffix: fj.PathSuffix, Query: fj.Query,
		Status: fj.Status, Code: fj.Code, Message: fj.Message, Times: fj.Times,
		Reset: fj.Reset, Truncate: fj.Truncate, Malformed: fj.Malformed, AfterHandler: fj.AfterHandler,
		DropNextLink: fj.DropNextLink}
	if fj.Times < 0 {
		return Fault{}, errors.New("times must not be negative")
	}
	for _, d := range []struct {
		name, value string
		dst         *time.Duration
	}{{"retryAfter", fj.RetryAfter, &f.RetryAfter}, {"delay", fj.Delay, &f.Delay}} {
		if d.value == "" {
			continue
		}
		v, err := time.ParseDuration(d.value)
		if err != nil || v < 0 {
			return Fault{}, fmt.Errorf("%s must be a non-negative duration such as \"2s\"", d.name)
		}
		*d.dst = v
	}
	return f, nil
}

func faultToJSON(f Fault) FaultJSON {
	fj := FaultJSON{API: f.API, Tenant: f.Tenant, Method: f.Method, PathPrefix: f.PathPrefix, PathSuffix: f.PathSuffix, Query: f.Query,
		Status: f.Status, Code: f.Code, Message: f.Message, Times: f.Times,
		Reset: f.Reset, Truncate: f.Truncate, Malformed: f.Malformed, AfterHandler: f.AfterHandler,
		DropNextLink: f.DropNextLink}
	if f.RetryAfter > 0 {
		fj.RetryAfter = f.RetryAfter.String()
	}
	if f.Delay > 0 {
		fj.Delay = f.Delay.String()
	}
	return fj
}

func writeControl(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func controlError(w http.ResponseWriter, status int, message string) {
	writeControl(w, status, map[string]string{"error": message})
}
