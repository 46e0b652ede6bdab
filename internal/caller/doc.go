// Package caller carries the authenticated caller of one request, from the
// caller-authentication interceptor to the authorization policy, the auth
// contexts, the handlers and the audit log. It holds no policy and does no
// authentication itself.
package caller
