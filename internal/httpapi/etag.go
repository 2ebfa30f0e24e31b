package httpapi

import (
	"crypto/sha256"
	"encoding/base64"
)

// contentHash is a short, strong validator of a response body.
func contentHash(b []byte) string {
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}
