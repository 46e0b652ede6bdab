package service

import (
	"crypto/sha256"
	"encoding/base64"
	"time"
)

// incidentEtag is the weak etag of an incident version: a digest of its id
// and last-update time. Neither upstream has etags for incidents, and every
// change moves the update time, so this changes exactly when the incident
// does (to the upstream's timestamp precision).
func incidentEtag(id string, updateTime time.Time) string {
	sum := sha256.Sum256([]byte(id + "|" + updateTime.UTC().Format(time.RFC3339Nano)))
	return `W/"` + base64.RawURLEncoding.EncodeToString(sum[:])[:16] + `"`
}
