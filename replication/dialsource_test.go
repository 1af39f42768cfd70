package replication

import (
	"net"
	"testing"
)

func TestDialSource(t *testing.T) {
	lo2 := net.ParseIP("127.0.0.2")
	priv := net.ParseIP("10.0.0.2")
	cases := []struct {
		local net.IP
		peer  string
		want  string // "" : no binding
	}{
		{nil, "127.0.0.3:7946", ""},
		{lo2, "127.0.0.3:7946", "127.0.0.2:0"},
		{lo2, "[::1]:7946", "127.0.0.2:0"},
		{lo2, "10.0.0.3:7946", ""},  // a loopback source cannot reach another host
		{lo2, "localhost:7946", ""}, // not an IP literal: leave it to the kernel
		{lo2, "no-port", ""},        // malformed: leave it to the dialler's error
		{priv, "10.0.0.3:7946", "10.0.0.2:0"},
		{priv, "db.example:7946", "10.0.0.2:0"},
	}
	for _, c := range cases {
		got := dialSource(c.local, c.peer)
		gotS := ""
		if got != nil {
			gotS = got.String()
		}
		if gotS != c.want {
			t.Errorf("dialSource(%v, %q) = %q, want %q", c.local, c.peer, gotS, c.want)
		}
	}
}

// TestTransportDialsFromListenIP checks that a transport listening on 127.0.0.2 connects to a
// peer on 127.0.0.3 from 127.0.0.2 (the kernel alone would pick 127.0.0.1).
func TestTransportDialsFromListenIP(t *testing.T) {
	peer, err := net.Listen("tcp", "127.0.0.3:0")
	if err != nil {
		t.Fatalf("127.0.0.3 must be a local address (all of 127.0.0.0/8 is loopback on Linux): %v", err)
	}
	defer peer.Close()
	tr, err := NewTCPTransport("127.0.0.2:0", quiet)
	if err != nil {
		t.Fatalf("127.0.0.2 must be a local address (all of 127.0.0.0/8 is loopback on Linux): %v", err)
	}
	defer tr.Stop()
	c, err := tr.dial(peer.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	in, err := peer.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if ip := in.RemoteAddr().(*net.TCPAddr).IP; !ip.Equal(net.ParseIP("127.0.0.2")) {
		t.Fatalf("the peer saw the connection come from %v, want 127.0.0.2", ip)
	}
}
