//go:build !chaos

package failpoint

import "github.com/opencmq/opencmq/segment/vfs"

// Enabled reports whether failpoints are compiled in (the build tag chaos).
const Enabled = false

// Inject is a failpoint; in this build it does nothing and costs nothing.
func Inject(name string) error { return nil }

// InjectAt is a failpoint concerning one file; in this build it does nothing.
func InjectAt(name, detail string) error { return nil }

// WrapFS returns fs: without the chaos tag there is nothing to hook.
func WrapFS(fs vfs.FS) vfs.FS { return fs }
