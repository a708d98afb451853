package v1

// Limits the API server enforces on every job (the CRDs' OpenAPI and CEL validation, from
// the kubebuilder markers of these types), so that `kubectl apply` refuses a job that
// could not run instead of the controller failing it later. docs/training.md lists them.
// The markers cannot name these constants; the validation tests in this package apply a
// job at each limit and one past it, so the two cannot drift apart.
const (
	// MaxReplicas is the most replicas one replica type may have. The controller computes
	// every desired pod of a job in memory on each reconcile: the bound keeps one job from
	// making it build millions of them (a TFJob has at most 5 × 1000 pods).
	MaxReplicas = 1000

	// MaxActiveDeadlineSeconds bounds runPolicy.activeDeadlineSeconds: ten years, far
	// below the 292 years at which a deadline in nanoseconds overflows (and would fail a
	// job at once).
	MaxActiveDeadlineSeconds = 10 * 365 * 24 * 60 * 60

	// MaxTTLSecondsAfterFinished bounds runPolicy.ttlSecondsAfterFinished: ten years. Leave
	// it unset to keep a finished job.
	MaxTTLSecondsAfterFinished = 10 * 365 * 24 * 60 * 60

	// MaxBackoffLimit bounds runPolicy.backoffLimit. Leave it unset for no limit.
	MaxBackoffLimit = 10000

	// MaxMinAvailable bounds schedulingPolicy.minAvailable: the most pods one job can have
	// (a TFJob's five replica types at MaxReplicas each).
	MaxMinAvailable = 5 * MaxReplicas

	// MaxScheduleTimeoutSeconds bounds schedulingPolicy.scheduleTimeoutSeconds: ten years,
	// as the other durations.
	MaxScheduleTimeoutSeconds = 10 * 365 * 24 * 60 * 60

	// MaxSlotsPerWorker bounds an MPIJob's slotsPerWorker: the launcher writes one hostfile
	// line per worker with this count and mpirun starts that many processes per worker;
	// 1024 is above the core count of any one machine.
	MaxSlotsPerWorker = 1024

	// MaxChildNameLength is the longest name of a job's child: pod host names and service
	// names are DNS-1035 labels.
	MaxChildNameLength = 63

	// MaxTFJobNameLength is the longest TFJob name: its longest child name is
	// "<job>-evaluator-999" (the longest replica type at the highest index MaxReplicas allows).
	MaxTFJobNameLength = MaxChildNameLength - len("-evaluator-999")

	// MaxJobNameLength is the longest name of a job of the other kinds: their longest child
	// name is "<job>-worker-999" ("-master-0", MPIJob's "-launcher" and "-config" are shorter).
	MaxJobNameLength = MaxChildNameLength - len("-worker-999")
)

// MaxNameLength is the longest name a job of kind may have (MaxTFJobNameLength for a TFJob,
// MaxJobNameLength otherwise).
func MaxNameLength(kind string) int {
	if kind == TFJobKind {
		return MaxTFJobNameLength
	}
	return MaxJobNameLength
}
