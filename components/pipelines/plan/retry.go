package plan

import (
	"math"
	"time"

	"github.com/kfup/kfup/components/pipelines/ir"
)

// MaxBackoff caps a retry's backoff, as KFP does (one hour).
const MaxBackoff = time.Hour

// Backoff says whether a task that failed after attempts attempts retries, and after how
// long: backoffDuration × backoffFactor^(attempts-1), factor 2 when unset, at most
// backoffMaxDuration (one hour when unset, and never more).
func Backoff(rp *ir.RetryPolicy, attempts int) (time.Duration, bool) {
	if rp == nil || attempts > int(rp.MaxRetryCount) {
		return 0, false
	}
	base, _ := time.ParseDuration(rp.BackoffDuration) // validated; "" is 0
	maxD := MaxBackoff
	if d, err := time.ParseDuration(rp.BackoffMaxDuration); err == nil && d > 0 && d < maxD {
		maxD = d
	}
	factor := rp.BackoffFactor
	if factor == 0 {
		factor = 2
	}
	d := float64(base) * math.Pow(factor, float64(attempts-1))
	if d > float64(maxD) || math.IsInf(d, 0) || math.IsNaN(d) {
		return maxD, true
	}
	return time.Duration(d), true
}
