// Package signature implements CMQ's request signature (HmacSHA1 / HmacSHA256 over
// "METHOD host path ? sorted params"), shared by the server, which verifies it, and the Go
// client, which produces it.
//
// # Algorithm
//
//  1. Take every request parameter except Signature.
//  2. Sort the names in ascending byte order.
//  3. In each name replace '_' by '.' (a PHP legacy; sorting uses the original names).
//  4. Join "name=value" pairs with '&' using the raw, decoded values.
//  5. String to sign = METHOD + host + path + "?" + joined pairs (no separators).
//  6. HMAC-SHA256 if SignatureMethod is "HmacSHA256", else HMAC-SHA1, keyed by the SecretKey;
//     the signature is its standard Base64 (with padding).
package signature

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"hash"
	"sort"
	"strings"
)

// Param is one request parameter, decoded.
type Param struct{ Name, Value string }

// Method names the HMAC: MethodSHA256 for "HmacSHA256", MethodSHA1 for anything else
// (CMQ's rule: an absent or unknown SignatureMethod means SHA1).
type Method int

const (
	MethodSHA1 Method = iota
	MethodSHA256
)

// ParseMethod maps a SignatureMethod parameter to a Method.
func ParseMethod(s string) Method {
	if s == "HmacSHA256" {
		return MethodSHA256
	}
	return MethodSHA1
}

// String returns the SignatureMethod parameter value for m.
func (m Method) String() string {
	if m == MethodSHA256 {
		return "HmacSHA256"
	}
	return "HmacSHA1"
}

// AppendStringToSign appends the string to sign for a request to dst. params may be in any
// order and may include Signature, which is left out; params is not modified.
func AppendStringToSign(dst []byte, httpMethod, host, path string, params []Param) []byte {
	sorted := make([]Param, 0, len(params))
	for _, p := range params {
		if p.Name != "Signature" {
			sorted = append(sorted, p)
		}
	}
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	dst = append(dst, strings.ToUpper(httpMethod)...)
	dst = append(dst, host...)
	dst = append(dst, path...)
	dst = append(dst, '?')
	for i, p := range sorted {
		if i > 0 {
			dst = append(dst, '&')
		}
		for j := 0; j < len(p.Name); j++ {
			c := p.Name[j]
			if c == '_' {
				c = '.'
			}
			dst = append(dst, c)
		}
		dst = append(dst, '=')
		dst = append(dst, p.Value...)
	}
	return dst
}

// Sign returns the Base64 HMAC of stringToSign under secretKey.
func Sign(m Method, secretKey string, stringToSign []byte) string {
	var h func() hash.Hash = sha1.New
	if m == MethodSHA256 {
		h = sha256.New
	}
	mac := hmac.New(h, []byte(secretKey))
	mac.Write(stringToSign)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// SignRequest is the client side: the Signature value for a request.
func SignRequest(m Method, secretKey, httpMethod, host, path string, params []Param) string {
	return Sign(m, secretKey, AppendStringToSign(nil, httpMethod, host, path, params))
}

// Equal compares two signatures in constant time.
func Equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
