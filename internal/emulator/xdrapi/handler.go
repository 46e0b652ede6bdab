package xdrapi

import (
	"net/http"
	"strings"

	"github.com/defender-gateway/gateway/internal/emulator/access"
	"github.com/defender-gateway/gateway/internal/emulator/claims"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
	"github.com/defender-gateway/gateway/internal/emulator/store"
	"github.com/defender-gateway/gateway/internal/emulator/wire"
)

// Page sizes of GET /api/incidents.
const (
	DefaultPageSize = 100
	MaxPageSize     = 100
)

// Error codes of the XDR API (reference §6).
const (
	codeBadRequest          = "BadRequest"
	codeODataError          = "ODataError"
	codeInvalidInput        = "InvalidInput"
	codeInvalidRequestBody  = "InvalidRequestBody"
	codeMissingRequiredParm = "MissingRequiredParameter"
	codeUnauthorized        = "Unauthorized"
	codeForbidden           = "Forbidden"
	codeResourceNotFound    = "ResourceNotFound"
	codeNotFound            = "NotFound"
	codeInternalServerError = "InternalServerError"
)

// metadataURL prefixes @odata.context values; XDR always names its global
// host there (reference §4.2).
const metadataURL = "https://api.security.microsoft.com/api/$metadata"

// maxBodyBytes bounds request bodies.
const maxBodyBytes = 1 << 20

type handler struct {
	store *store.Store
}

// New returns the fake XDR handler. It expects /api/... request paths and
// verified claims in the request context.
func New(st *store.Store) http.Handler {
	h := &handler{store: st}
	read := access.Requirement{
		App:       []string{identity.XDRIncidentRead, identity.XDRIncidentReadWrite},
		Delegated: []string{identity.XDRDelegatedIncidentRead, identity.XDRDelegatedIncidentReadWrite},
		Right:     access.Read,
	}
	write := access.Requirement{
		App:       []string{identity.XDRIncidentReadWrite},
		Delegated: []string{identity.XDRDelegatedIncidentReadWrite},
		Right:     access.Update,
	}
	hunt := access.Requirement{
		App:       []string{identity.XDRHunting},
		Delegated: []string{identity.XDRDelegatedHunting},
		Right:     access.Hunt,
	}
	mux := http.NewServeMux()
	mux.Handle("GET /api/incidents", authorize(read, h.listIncidents))
	mux.Handle("GET /api/incidents/{id}", authorize(read, h.getIncident))
	mux.Handle("PATCH /api/incidents/{id}", authorize(write, h.updateIncident))
	mux.Handle("POST /api/advancedhunting/run", authorize(hunt, h.runHuntingQuery))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		wire.WriteXDRError(w, http.StatusNotFound, codeNotFound, "No API operation matches "+r.Method+" "+r.URL.Path+".")
	})
	return mux
}

type authorizedHandler func(w http.ResponseWriter, r *http.Request, c claims.Claims)

// authorize runs next if the request carries claims that meet req (see
// package access); otherwise it answers 401 or 403.
func authorize(req access.Requirement, next authorizedHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := claims.From(r.Context())
		if !ok {
			wire.WriteXDRError(w, http.StatusUnauthorized, codeUnauthorized, "The access token is missing or invalid.")
			return
		}
		switch access.Check(c, req) {
		case access.Allowed:
			next(w, r, c)
		case access.UserDenied:
			wire.WriteXDRError(w, http.StatusForbidden, codeForbidden,
				"The user does not have the Defender permission required for this operation.")
		default:
			permissions := req.App
			if access.IsDelegated(c) {
				permissions = req.Delegated
			}
			wire.WriteXDRError(w, http.StatusForbidden, codeForbidden,
				"The application does not have the required permission: "+strings.Join(permissions, " or ")+".")
		}
	})
}

// actor names the caller in comments: the user for delegated tokens, the
// application id otherwise.
func actor(c claims.Claims) string {
	if c.UPN != "" {
		return c.UPN
	}
	return "API-App:" + c.AppID
}
