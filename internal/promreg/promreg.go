// Package promreg registers Prometheus collectors so that a component built again in the same process
// continues the series of the first one instead of failing on a duplicate registration. Keranjang builds
// a fresh scheduler and outbox worker for each term an instance leads the cluster (package cluster); their
// counters must go on across terms, not panic on the second.
package promreg

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers c with reg and returns it, or, when a collector of the same description is
// registered already, returns that one, so that the caller updates the registered series. Any other
// registration error (a clash of names with different labels or help) is a programming error and
// panics, as prometheus.MustRegister does.
func Register[T prometheus.Collector](reg prometheus.Registerer, c T) T {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var dup prometheus.AlreadyRegisteredError
	if errors.As(err, &dup) {
		if old, ok := dup.ExistingCollector.(T); ok {
			return old
		}
	}
	panic(err)
}
