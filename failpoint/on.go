//go:build chaos

package failpoint

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Enabled reports whether failpoints are compiled in (the build tag chaos).
const Enabled = true

// Func is what a failpoint does when it is hit. detail names the file concerned ("" if
// none). A non-nil error fails the operation at the site, which handles it like the
// failure of that storage operation.
type Func func(detail string) error

// ErrInjected is the error of the "error" action.
var ErrInjected = errors.New("failpoint: injected error")

var (
	mu     sync.RWMutex
	points = map[string]Func{}
	armed  atomic.Int32 // len(points): Inject costs one atomic load while none is set
)

// Set makes f run at every hit of the named failpoint (replacing what was set). It panics
// on a name that is not in All, so that a typo cannot make a test pass vacuously.
func Set(name string, f Func) {
	if !slices.Contains(All, name) {
		panic("failpoint: unknown failpoint " + strconv.Quote(name))
	}
	mu.Lock()
	defer mu.Unlock()
	points[name] = f
	armed.Store(int32(len(points)))
}

// Clear removes what was set at the named failpoint.
func Clear(name string) {
	mu.Lock()
	defer mu.Unlock()
	delete(points, name)
	armed.Store(int32(len(points)))
}

// Reset clears every failpoint.
func Reset() {
	mu.Lock()
	defer mu.Unlock()
	clear(points)
	armed.Store(0)
}

// Inject runs the function set at the named failpoint, if any, and returns its error.
func Inject(name string) error { return InjectAt(name, "") }

// InjectAt is Inject for a failpoint that concerns one file, named by detail.
func InjectAt(name, detail string) error {
	if armed.Load() == 0 {
		return nil
	}
	mu.RLock()
	f := points[name]
	mu.RUnlock()
	if f == nil {
		return nil
	}
	return f(detail)
}

// Enable sets failpoints from a specification in the syntax of CMQ_FAILPOINTS (see the
// package documentation). Nothing is set unless the whole specification is valid.
func Enable(spec string) error {
	funcs := map[string]Func{}
	for _, item := range strings.FieldsFunc(spec, func(r rune) bool { return r == ',' || r == ' ' }) {
		name, term, ok := strings.Cut(item, "=")
		if !ok || !slices.Contains(All, name) {
			return fmt.Errorf("failpoint: %q: want name=action with a name among %s", item, strings.Join(All, ", "))
		}
		f, err := parseTerm(name, term)
		if err != nil {
			return fmt.Errorf("failpoint: %s: %w", name, err)
		}
		funcs[name] = f
	}
	for name, f := range funcs {
		if f == nil {
			Clear(name)
		} else {
			Set(name, f)
		}
	}
	return nil
}

// parseTerm parses [P%][N*]action[(arg)]; nil means off.
func parseTerm(name, term string) (Func, error) {
	percent, count := 100, -1
	if p, rest, ok := strings.Cut(term, "%"); ok {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 || v > 100 {
			return nil, fmt.Errorf("bad percentage %q", p)
		}
		percent, term = v, rest
	}
	if n, rest, ok := strings.Cut(term, "*"); ok {
		v, err := strconv.Atoi(n)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("bad count %q", n)
		}
		count, term = v, rest
	}
	action, arg, hasArg := strings.Cut(term, "(")
	if hasArg {
		if !strings.HasSuffix(arg, ")") {
			return nil, fmt.Errorf("unbalanced parenthesis in %q", term)
		}
		arg = strings.TrimSuffix(arg, ")")
	}
	var do Func
	switch action {
	case "off":
		return nil, nil
	case "panic":
		do = func(detail string) error { panic(fmt.Sprintf("failpoint %s: panic %s", name, detail)) }
	case "exit":
		do = func(detail string) error {
			fmt.Fprintf(os.Stderr, "failpoint %s: exit %s\n", name, detail)
			os.Exit(ExitCode)
			return nil
		}
	case "error":
		do = func(detail string) error { return fmt.Errorf("%w: %s %s", ErrInjected, name, detail) }
	case "sleep":
		ms, err := strconv.Atoi(arg)
		if err != nil || ms < 0 {
			return nil, fmt.Errorf("sleep needs milliseconds, got %q", arg)
		}
		do = func(string) error { time.Sleep(time.Duration(ms) * time.Millisecond); return nil }
	default:
		return nil, fmt.Errorf("unknown action %q (panic, exit, error, sleep(ms), off)", action)
	}
	if hasArg && action != "sleep" {
		return nil, fmt.Errorf("%s takes no argument", action)
	}
	var left atomic.Int64
	left.Store(int64(count))
	return func(detail string) error {
		if percent < 100 && rand.IntN(100) >= percent {
			return nil
		}
		if count >= 0 && left.Add(-1) < 0 {
			return nil
		}
		return do(detail)
	}, nil
}

func init() {
	if spec := os.Getenv("CMQ_FAILPOINTS"); spec != "" {
		if err := Enable(spec); err != nil {
			fmt.Fprintf(os.Stderr, "CMQ_FAILPOINTS: %v\n", err)
			os.Exit(2)
		}
	}
}
