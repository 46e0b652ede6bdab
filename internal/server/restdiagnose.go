package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// grpc-gateway reports a bad query parameter or body with the text of the
// Go error (e.g. `parsing list "statuses": "active" is not a valid value`,
// or protojson's `proto: (line 1:2): unknown field "x"`). That text is not
// for callers; the functions here find the parameter or field at fault
// themselves and describe it in our own words.

// requestTextStatus checks what grpc-gateway would copy into the request
// message without checking: path parameters and query parameters must be
// valid UTF-8 (a protobuf string must be), and the query must parse. It
// runs after authentication.
func requestTextStatus(r *http.Request, pathParams map[string]string) *status.Status {
	names := make([]string, 0, len(pathParams))
	for k := range pathParams {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if !utf8.ValidString(pathParams[k]) {
			return fieldStatus(ReasonInvalidArgument, k, "must be valid UTF-8")
		}
	}
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return fieldStatus(ReasonInvalidArgument, "query", "the query string is malformed (a bad %-escape or a semicolon)")
	}
	for _, k := range sortedKeys(values) {
		if !utf8.ValidString(k) {
			return fieldStatus(ReasonInvalidArgument, "query", "a parameter name is not valid UTF-8")
		}
		for _, v := range values[k] {
			if !utf8.ValidString(v) {
				return fieldStatus(ReasonInvalidArgument, k, "must be valid UTF-8")
			}
		}
	}
	return nil
}

func sortedKeys(v url.Values) []string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// requestStatus explains an INVALID_ARGUMENT grpc-gateway raised while
// filling the request message: a body that does not decode is described,
// else the first query parameter that fails on its own is named, with what
// its field expects.
func requestStatus(r *http.Request, es *edgeState) *status.Status {
	generic := edgeStatus(codes.InvalidArgument, ReasonInvalidArgument, "the request is invalid", nil)
	rt := es.route
	if rt.input == nil {
		return generic
	}
	if rt.body != "" && es.body.Len() > 0 {
		if err := rt.decodeBody(es.body.Bytes()); err != nil && !errors.Is(err, io.EOF) {
			return bodyStatus(err)
		}
	}
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return fieldStatus(ReasonInvalidArgument, "query", "the query string is malformed (a bad %-escape or a semicolon)")
	}
	parser := &runtime.DefaultQueryParser{}
	for _, k := range sortedKeys(values) {
		if err := parser.Parse(rt.input.New().Interface(), url.Values{k: values[k]}, noFilter); err != nil {
			return fieldStatus(ReasonInvalidArgument, k, describeParameter(rt.input.Descriptor(), k, len(values[k])))
		}
	}
	if len(values) > 1 {
		return fieldStatus(ReasonInvalidArgument, "query", "two parameters set the same field (by its proto and its JSON name)")
	}
	if r.Header.Get("Grpc-Timeout") != "" {
		return fieldStatus(ReasonInvalidArgument, "Grpc-Timeout", "must be a positive integer followed by a unit: H, M, S, m, u or n")
	}
	return generic
}

// noFilter is a query parser filter that filters nothing.
var noFilter = utilities.NewDoubleArray(nil)

// describeParameter says what the field a query parameter names expects.
func describeParameter(md protoreflect.MessageDescriptor, key string, count int) string {
	var fd protoreflect.FieldDescriptor
	for i, part := range strings.Split(key, ".") {
		if i > 0 {
			if fd.Message() == nil || fd.IsList() {
				return "does not name a field of the request"
			}
			md = fd.Message()
		}
		fd = md.Fields().ByName(protoreflect.Name(part))
		if fd == nil {
			fd = md.Fields().ByJSONName(part)
		}
		if fd == nil {
			return "does not name a field of the request"
		}
	}
	if !fd.IsList() && count > 1 {
		return "must be given once"
	}
	each := "must be"
	if fd.IsList() {
		each = "each value must be"
	}
	switch fd.Kind() {
	case protoreflect.EnumKind:
		var names []string
		vals := fd.Enum().Values()
		for i := range vals.Len() {
			if n := vals.Get(i).Number(); n != 0 {
				names = append(names, string(vals.Get(i).Name()))
			}
		}
		return each + " one of " + strings.Join(names, ", ")
	case protoreflect.BoolKind:
		return each + " true or false"
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind, protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return each + " an integer"
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return each + " a non-negative integer"
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return each + " a number"
	case protoreflect.BytesKind:
		return each + " base64"
	case protoreflect.MessageKind:
		switch fd.Message().FullName() {
		case "google.protobuf.Timestamp":
			return each + " an RFC 3339 timestamp, e.g. 2026-01-02T15:04:05Z"
		case "google.protobuf.Duration":
			return each + " a duration in seconds, e.g. 30s"
		case "google.protobuf.FieldMask":
			return each + " a comma-separated list of field names"
		}
		return "names a message; set its fields as " + key + ".<field>"
	}
	return "has an invalid value"
}

// protojson's error texts, from which bodyStatus takes the field (a name
// as the caller wrote it, kept only if it is a plain identifier path) and
// the position.
var (
	bodyUnknownField   = regexp.MustCompile(`unknown field "([A-Za-z0-9_.]{1,100})"`)
	bodyDuplicateField = regexp.MustCompile(`duplicate field "([A-Za-z0-9_.]{1,100})"`)
	bodyInvalidValue   = regexp.MustCompile(`invalid value for ([a-z0-9]{1,20}) field ([A-Za-z0-9_.]{1,100}):`)
	bodyPosition       = regexp.MustCompile(`\(line (\d{1,9}):(\d{1,9})\)`)
)

// bodyStatus explains a request body that did not decode.
func bodyStatus(err error) *status.Status {
	text := err.Error()
	at := ""
	if m := bodyPosition.FindStringSubmatch(text); m != nil {
		at = fmt.Sprintf(" (line %s, column %s)", m[1], m[2])
	}
	if m := bodyUnknownField.FindStringSubmatch(text); m != nil {
		return fieldStatus(ReasonMalformedBody, m[1], "is not a field of the request body"+at)
	}
	if m := bodyDuplicateField.FindStringSubmatch(text); m != nil {
		return fieldStatus(ReasonMalformedBody, m[1], "is given twice in the request body"+at)
	}
	if m := bodyInvalidValue.FindStringSubmatch(text); m != nil {
		return fieldStatus(ReasonMalformedBody, m[2], "has a value that is not a valid "+m[1]+at)
	}
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return fieldStatus(ReasonMalformedBody, "body", fmt.Sprintf("is not valid JSON (at byte %d)", syntax.Offset))
	}
	if strings.Contains(text, "invalid UTF-8") {
		return fieldStatus(ReasonMalformedBody, "body", "contains a string that is not valid UTF-8"+at)
	}
	return fieldStatus(ReasonMalformedBody, "body", "is not a JSON object of the method's request"+at)
}
