package service

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"time"

	"google.golang.org/protobuf/types/known/structpb"
)

// toValue converts a decoded JSON value to a structpb.Value. The domain
// promises string, float64, bool, nil, map[string]any and []any; other
// scalars (integers, json.Number, time.Time, typed slices and maps) are
// converted defensively instead of failing. NaN and infinities, which JSON
// cannot carry, become the strings KQL prints for them. Integers beyond 2^53
// lose precision as JSON numbers do everywhere.
func toValue(v any) (*structpb.Value, error) {
	switch v := v.(type) {
	case nil:
		return structpb.NewNullValue(), nil
	case string:
		return structpb.NewStringValue(v), nil
	case bool:
		return structpb.NewBoolValue(v), nil
	case float64:
		return numberValue(v), nil
	case float32:
		return numberValue(float64(v)), nil
	case int:
		return numberValue(float64(v)), nil
	case int8:
		return numberValue(float64(v)), nil
	case int16:
		return numberValue(float64(v)), nil
	case int32:
		return numberValue(float64(v)), nil
	case int64:
		return numberValue(float64(v)), nil
	case uint:
		return numberValue(float64(v)), nil
	case uint8:
		return numberValue(float64(v)), nil
	case uint16:
		return numberValue(float64(v)), nil
	case uint32:
		return numberValue(float64(v)), nil
	case uint64:
		return numberValue(float64(v)), nil
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return nil, fmt.Errorf("number %q: %w", v, err)
		}
		return numberValue(f), nil
	case time.Time:
		return structpb.NewStringValue(v.UTC().Format(time.RFC3339Nano)), nil
	case map[string]any:
		if v == nil { // as encoding/json marshals it
			return structpb.NewNullValue(), nil
		}
		s, err := toStruct(v)
		if err != nil {
			return nil, err
		}
		return structpb.NewStructValue(s), nil
	case []any:
		if v == nil {
			return structpb.NewNullValue(), nil
		}
		return listValue(len(v), func(i int) any { return v[i] })
	}
	// Typed slices and string-keyed maps ([]string, map[string]string, ...).
	rv := reflect.ValueOf(v)
	switch {
	case rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array:
		return listValue(rv.Len(), func(i int) any { return rv.Index(i).Interface() })
	case rv.Kind() == reflect.Map && rv.Type().Key().Kind() == reflect.String:
		m := make(map[string]any, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			m[it.Key().String()] = it.Value().Interface()
		}
		return toValue(m)
	}
	return nil, fmt.Errorf("unsupported value of type %T", v)
}

func numberValue(f float64) *structpb.Value {
	switch {
	case math.IsNaN(f):
		return structpb.NewStringValue("NaN")
	case math.IsInf(f, 1):
		return structpb.NewStringValue("Infinity")
	case math.IsInf(f, -1):
		return structpb.NewStringValue("-Infinity")
	}
	return structpb.NewNumberValue(f)
}

func listValue(n int, at func(int) any) (*structpb.Value, error) {
	values := make([]*structpb.Value, n)
	for i := range n {
		v, err := toValue(at(i))
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		values[i] = v
	}
	return structpb.NewListValue(&structpb.ListValue{Values: values}), nil
}

// toStruct converts a JSON object; nil stays nil.
func toStruct(m map[string]any) (*structpb.Struct, error) {
	if m == nil {
		return nil, nil
	}
	fields := make(map[string]*structpb.Value, len(m))
	for k, v := range m {
		pv, err := toValue(v)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", k, err)
		}
		fields[k] = pv
	}
	return &structpb.Struct{Fields: fields}, nil
}

// detailsToStruct converts evidence details, dropping any field that cannot
// be represented: they are supplementary, and one odd upstream value must
// not fail the read of an incident.
func detailsToStruct(m map[string]any) *structpb.Struct {
	if len(m) == 0 {
		return nil
	}
	fields := make(map[string]*structpb.Value, len(m))
	for k, v := range m {
		if pv, err := toValue(v); err == nil {
			fields[k] = pv
		}
	}
	return &structpb.Struct{Fields: fields}
}
