package cortical

import "encoding/base64"

// ID is a canonical 8-byte cortical ID (reference §5.6, SPEC E1). Its text
// form is standard base64 with padding (12 characters).
type ID [8]byte

// String returns the canonical base64 form.
func (id ID) String() string { return base64.StdEncoding.EncodeToString(id[:]) }
