package main

import (
	"flag"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/opencmq/opencmq/engine"
)

// pushFlags are the flags of pushes to topics' HTTP subscriptions (engine.PushOptions).
type pushFlags struct {
	allow        prefixList
	allowPrivate bool
	retryUnit    positiveDuration
}

func (p *pushFlags) register(fs *flag.FlagSet) {
	p.retryUnit = positiveDuration(time.Second)
	fs.Var(&p.allow, "push-allow", "networks HTTP subscriptions may push to, CIDR[,CIDR...] (repeatable); when given, only these (default: any public address; loopback, private, link-local and multicast refused)")
	fs.BoolVar(&p.allowPrivate, "push-allow-private", false, "let HTTP subscriptions push to loopback, private and link-local addresses too (ignored with --push-allow)")
	fs.Var(&p.retryUnit, "push-retry-unit", "testing knob: the unit of CMQ's push retry intervals (EXPONENTIAL_DECAY_RETRY waits 1, 2, 4 … units); keep 1s in production")
}

func (p *pushFlags) options() engine.PushOptions {
	return engine.PushOptions{AllowNetworks: p.allow, AllowPrivate: p.allowPrivate, RetryUnit: time.Duration(p.retryUnit)}
}

// prefixList is a repeatable flag of comma-separated CIDR prefixes (a bare address is a
// single-address prefix).
type prefixList []netip.Prefix

func (l *prefixList) String() string {
	parts := make([]string, len(*l))
	for i, p := range *l {
		parts[i] = p.String()
	}
	return strings.Join(parts, ",")
}

func (l *prefixList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return fmt.Errorf("%q is not a CIDR prefix (e.g. 10.0.0.0/8) or an IP address", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		*l = append(*l, p.Masked())
	}
	return nil
}

// positiveDuration is a duration flag that must be > 0.
type positiveDuration time.Duration

func (d *positiveDuration) String() string { return time.Duration(*d).String() }

func (d *positiveDuration) Set(v string) error {
	x, err := time.ParseDuration(v)
	if err != nil {
		return err
	}
	if x <= 0 {
		return fmt.Errorf("must be positive")
	}
	*d = positiveDuration(x)
	return nil
}
