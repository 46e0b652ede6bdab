// Package openapi embeds the OpenAPI (Swagger 2.0) document that
// protoc-gen-openapiv2 generates next to this file from proto/.
package openapi

import _ "embed"

// Document is the generated OpenAPI document of the REST API, as JSON.
//
//go:embed defender.swagger.json
var Document []byte
