package signature

import "testing"

// The reference's worked examples (cmq-api.md §3.2).
func TestReferenceVectors(t *testing.T) {
	exampleA := []Param{
		{"Action", "BatchSendMessage"}, {"Nonce", "12345"}, {"RequestClient", "SDK_Python_1.3"},
		{"SecretId", "AKIDexample1234567890"}, {"SignatureMethod", "HmacSHA1"}, {"Timestamp", "1700000000"},
		{"delaySeconds", "0"}, {"msgBody.1", "hello world"}, {"msgBody.2", "a&b=c"}, {"queueName", "orders"},
	}
	keyA := "exampleSecretKey0123456789abcdef"
	wantString := "POST127.0.0.1:8080/v2/index.php?Action=BatchSendMessage&Nonce=12345&RequestClient=SDK_Python_1.3&SecretId=AKIDexample1234567890&SignatureMethod=HmacSHA1&Timestamp=1700000000&delaySeconds=0&msgBody.1=hello world&msgBody.2=a&b=c&queueName=orders"
	if got := string(AppendStringToSign(nil, "POST", "127.0.0.1:8080", "/v2/index.php", exampleA)); got != wantString {
		t.Fatalf("string to sign:\n%s\nwant\n%s", got, wantString)
	}
	with := func(name, value string) []Param {
		out := append([]Param(nil), exampleA...)
		for i := range out {
			if out[i].Name == name {
				out[i].Value = value
			}
		}
		return out
	}
	cases := []struct {
		name              string
		m                 Method
		key, method, path string
		params            []Param
		want              string
	}{
		{"A sha1", MethodSHA1, keyA, "POST", "/v2/index.php", exampleA, "hwfftpOmpCpU9x97E4j+sEfCzjM="},
		{"A sha256", MethodSHA256, keyA, "POST", "/v2/index.php", with("SignatureMethod", "HmacSHA256"), "MVbct2IxYGoSbArUyWN6FA/f8P9leZRGsg/t7ShnP/g="},
		{"A get", MethodSHA1, keyA, "GET", "/v2/index.php", exampleA, "YtXQofe/40fLsnpZigIW4hAt/jg="},
		{"A root path", MethodSHA1, keyA, "POST", "/", exampleA, "F32xp918EfRmfPvpXrtngGyQAwM="},
	}
	for _, c := range cases {
		if got := SignRequest(c.m, c.key, c.method, "127.0.0.1:8080", c.path, c.params); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	exampleB := []Param{
		{"Action", "SendMessage"}, {"Nonce", "2889712707386595659"}, {"RequestClient", "SDK_Python_1.3"},
		{"SecretId", "AKIDPcYDclDJCn8D0Xypa4f3pKYUCVYLn3zT"}, {"SignatureMethod", "HmacSHA1"},
		{"Timestamp", "1534154812"}, {"clientRequestId", "1231231231"}, {"delaySeconds", "0"},
		{"msgBody", "msg"}, {"queueName", "test1"},
	}
	if got := SignRequest(MethodSHA1, "pPgfLipfEXZ7VcRzhAMIyPaU7UbQyFFx", "POST", "cmq-queue-gz.api.tencentyun.com", "/v2/index.php", exampleB); got != "C16WEtEXsD5v5tnaUMLAbZewXhI=" {
		t.Fatalf("official example B: %s", got)
	}
}

func TestUnderscoreBecomesDotAndSignatureIsIgnored(t *testing.T) {
	a := AppendStringToSign(nil, "post", "h", "/", []Param{{"msgBody_1", "x"}, {"Signature", "zzz"}, {"A", "1"}})
	if string(a) != "POSTh/?A=1&msgBody.1=x" {
		t.Fatalf("%s", a)
	}
	if ParseMethod("HmacSHA256") != MethodSHA256 || ParseMethod("") != MethodSHA1 || ParseMethod("md5") != MethodSHA1 {
		t.Fatal("ParseMethod")
	}
	if !Equal("abc", "abc") || Equal("abc", "abd") {
		t.Fatal("Equal")
	}
}
