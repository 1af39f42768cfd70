package engine

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"

	"github.com/cespare/xxhash/v2"
)

// receiptHandle identifies one delivery of one message. A handle is valid only while its
// lease is the message's current lease and has not expired.
type receiptHandle struct {
	queueID uint64
	seq     uint64
	lease   uint64
}

// handleLen is the decoded size: queue id, seq, lease, 4-byte check.
const handleLen = 8 + 8 + 8 + 4

// encode renders h as 38 characters of [A-Za-z0-9_-], the shape CMQ SDKs accept.
func (h receiptHandle) encode() string {
	var b [handleLen]byte
	binary.BigEndian.PutUint64(b[0:], h.queueID)
	binary.BigEndian.PutUint64(b[8:], h.seq)
	binary.BigEndian.PutUint64(b[16:], h.lease)
	binary.BigEndian.PutUint32(b[24:], uint32(xxhash.Sum64(b[:24])))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// decodeHandle parses a handle; ok is false for anything that is not one (wrong length,
// alphabet or check), which the API reports as malformed.
func decodeHandle(s string) (receiptHandle, bool) {
	if base64.RawURLEncoding.DecodedLen(len(s)) != handleLen {
		return receiptHandle{}, false
	}
	var b [handleLen]byte
	// Strict: a handle whose unused trailing bits differ is not the same handle.
	if n, err := base64.RawURLEncoding.Strict().Decode(b[:], []byte(s)); err != nil || n != handleLen {
		return receiptHandle{}, false
	}
	if binary.BigEndian.Uint32(b[24:]) != uint32(xxhash.Sum64(b[:24])) {
		return receiptHandle{}, false
	}
	return receiptHandle{
		queueID: binary.BigEndian.Uint64(b[0:]),
		seq:     binary.BigEndian.Uint64(b[8:]),
		lease:   binary.BigEndian.Uint64(b[16:]),
	}, true
}

// messageID renders the id of message seq of queue queueID: 32 lower-case hex digits, unique
// across the server because queue ids are never reused.
func messageID(queueID, seq uint64) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[0:], queueID)
	binary.BigEndian.PutUint64(b[8:], seq)
	return hex.EncodeToString(b[:])
}

// queueIDString renders a queue id the way CMQ shows them.
func queueIDString(id uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], id)
	return "queue-" + hex.EncodeToString(b[:])
}
