package signature

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"math/rand"
	"sort"
	"strings"
	"testing"
)

// referenceStringToSign is the algorithm of the package documentation written as plainly
// as possible: the implementation must agree with it for every input.
func referenceStringToSign(httpMethod, host, path string, params []Param) string {
	var kept []Param
	for _, p := range params {
		if p.Name != "Signature" {
			kept = append(kept, p)
		}
	}
	sort.SliceStable(kept, func(i, j int) bool { return kept[i].Name < kept[j].Name })
	pairs := make([]string, len(kept))
	for i, p := range kept {
		pairs[i] = strings.ReplaceAll(p.Name, "_", ".") + "=" + p.Value
	}
	return strings.ToUpper(httpMethod) + host + path + "?" + strings.Join(pairs, "&")
}

// referenceSign is HMAC-SHA256 for "HmacSHA256", else HMAC-SHA1, in standard Base64.
func referenceSign(signatureMethod, key, sts string) string {
	h := sha1.New
	if signatureMethod == "HmacSHA256" {
		h = sha256.New
	}
	mac := hmac.New(h, []byte(key))
	mac.Write([]byte(sts))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// fuzzParams splits raw into parameters: one per line, the name before the first '=', the
// value after it (a line without '=' is a name with an empty value).
func fuzzParams(raw string) []Param {
	if raw == "" {
		return nil
	}
	var ps []Param
	for _, line := range strings.Split(raw, "\n") {
		name, value, _ := strings.Cut(line, "=")
		ps = append(ps, Param{Name: name, Value: value})
	}
	return ps
}

// FuzzStringToSign: for any method, host, path and parameters (any bytes, repeated names,
// names with '_' or '.', a Signature among them), AppendStringToSign never panics, agrees
// with the reference, appends to dst without touching what dst held, leaves params as they
// were and does not depend on their order when names are distinct; Sign agrees with the
// reference HMAC, and Equal accepts exactly the signature it produced.
func FuzzStringToSign(f *testing.F) {
	f.Add("POST", "127.0.0.1:8080", "/v2/index.php", "Action=BatchSendMessage\nNonce=12345\nmsgBody.2=a&b=c\nmsgBody.1=hello world\nqueueName=orders", "HmacSHA1", "k")
	f.Add("get", "h:80", "/", "msgBody_1=x\nSignature=zzz\nA=1", "HmacSHA256", "")
	f.Add("", "", "", "", "", "")
	f.Add("POST", "[::1]:443", "/a?b", "=\n=\n\x00=\xff\nname with space =v\na_b=1\na.b=2", "hmacsha256", "\x00")
	f.Add("PoSt", "h", "/p", "Signature\nSignature=a\nz=\nZ=\n_=.", "HmacSHA1", "key")
	f.Fuzz(func(t *testing.T, httpMethod, host, path, rawParams, sigMethod, key string) {
		params := fuzzParams(rawParams)
		before := append([]Param(nil), params...)
		want := referenceStringToSign(httpMethod, host, path, params)

		got := AppendStringToSign(nil, httpMethod, host, path, params)
		if string(got) != want {
			t.Fatalf("string to sign\n got %q\nwant %q", got, want)
		}
		for i := range params {
			if params[i] != before[i] {
				t.Fatalf("params changed at %d: %v -> %v", i, before[i], params[i])
			}
		}
		prefix := []byte("prefix")
		if got := AppendStringToSign(prefix, httpMethod, host, path, params); !bytes.Equal(got, append([]byte("prefix"), want...)) {
			t.Fatalf("appending after a prefix: %q", got)
		}

		// With distinct names, the order parameters come in does not matter.
		names := map[string]bool{}
		distinct := true
		for _, p := range params {
			distinct = distinct && !names[p.Name]
			names[p.Name] = true
		}
		if distinct && len(params) > 1 {
			shuffled := append([]Param(nil), params...)
			rand.New(rand.NewSource(int64(len(rawParams)))).Shuffle(len(shuffled), func(i, j int) {
				shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
			})
			if again := AppendStringToSign(nil, httpMethod, host, path, shuffled); !bytes.Equal(again, got) {
				t.Fatalf("order matters: %q vs %q", again, got)
			}
		}

		m := ParseMethod(sigMethod)
		if (m == MethodSHA256) != (sigMethod == "HmacSHA256") || ParseMethod(m.String()) != m {
			t.Fatalf("ParseMethod(%q) = %v", sigMethod, m)
		}
		sig := SignRequest(m, key, httpMethod, host, path, params)
		if ref := referenceSign(sigMethod, key, want); sig != ref {
			t.Fatalf("signature %s, reference %s", sig, ref)
		}
		if !Equal(sig, sig) || Equal(sig, sig[:len(sig)-1]) || Equal(sig, sig+"=") {
			t.Fatal("Equal")
		}
		if other := SignRequest(m, key+"x", httpMethod, host, path, params); Equal(sig, other) {
			t.Fatalf("another key gave the same signature %s", sig)
		}
	})
}
