package v1beta1

// Limits the API server enforces on every Experiment, Suggestion and Trial (the CRDs'
// OpenAPI and CEL validation, from the kubebuilder markers of these types), so that
// `kubectl apply` refuses an experiment that could not run instead of the controller
// failing it later. docs/tuning.md lists them. The markers cannot name these constants;
// the validation tests in this package apply an object at each limit and one past it, so
// the two cannot drift apart.
const (
	// MaxChildNameLength is the longest name of an object kfup derives from an
	// experiment: pod host names and service names are DNS-1035 labels.
	MaxChildNameLength = 63

	// TrialNameSuffixLength is the length of the random suffix of a trial's name:
	// a trial is named "<experiment>-<8 random characters>", as Katib names it.
	TrialNameSuffixLength = 8

	// MaxTrialNameLength is the longest trial name. A trial's run object (a Job, a
	// PyTorchJob, a TFJob …) is named after the trial, and the longest child name of
	// any run kind is a TFJob's "<name>-evaluator-999": 63 - 14 = 49 (the training API's
	// MaxTFJobNameLength).
	MaxTrialNameLength = MaxChildNameLength - len("-evaluator-999")

	// MaxExperimentNameLength is the longest experiment name (and suggestion name, a
	// suggestion being named after its experiment): "<experiment>-<8 characters>" must fit
	// in MaxTrialNameLength. It equals Katib's own limit of 40, so every experiment Katib
	// accepts is accepted here.
	MaxExperimentNameLength = MaxTrialNameLength - 1 - TrialNameSuffixLength

	// MaxParameters is the most search-space parameters an experiment may have
	// (spec.parameters).
	MaxParameters = 100

	// MaxNasOperations is the most operations of a neural architecture search
	// (nasConfig.operations). The bound is low because each parameter's CEL rules run
	// for every parameter of every operation, and the API server bounds the estimated
	// cost of all rules of a CRD.
	MaxNasOperations = 16

	// MaxNasOperationParameters is the most parameters of one NAS operation (see
	// MaxNasOperations).
	MaxNasOperationParameters = 16

	// MaxFeasibleListItems is the most values one discrete or categorical parameter may
	// list (feasibleSpace.list).
	MaxFeasibleListItems = 1000

	// MaxTrialCount bounds spec.maxTrialCount (and a suggestion's spec.requests): the
	// controller keeps every trial of an experiment in its status lists, which must fit
	// in one etcd object.
	MaxTrialCount = 10000

	// MaxParallelTrialCount bounds spec.parallelTrialCount: the trials run at once.
	MaxParallelTrialCount = 1000

	// MaxMetricNames is the most additional metrics an objective may name, and the most
	// metric strategies it may list.
	MaxMetricNames = 100

	// MaxSettings is the most settings an algorithm or early-stopping spec may have.
	MaxSettings = 100

	// MaxTrialParameters is the most trial parameters a trial template may have.
	MaxTrialParameters = 100

	// MaxMetricsFormats is the most filter expressions a metrics collector may have.
	MaxMetricsFormats = 10

	// MaxNameLength bounds the names of parameters, metrics, settings and trial
	// parameters.
	MaxNameLength = 128

	// MaxValueLength bounds string values: feasible-space bounds, steps and list values,
	// setting values, parameter assignments and metric values.
	MaxValueLength = 256

	// MaxAssignmentValueLength bounds a parameter assignment's value (a NAS
	// architecture's nn_config lists every operation it uses).
	MaxAssignmentValueLength = 65536

	// MaxAlgorithmStateLength bounds a Suggestion's status.algorithmState: enas's
	// controller, at most 65536 weights of 8 bytes, in base64.
	MaxAlgorithmStateLength = 786432
)

// Defaults the API server sets (CRD defaults), as Katib's admission webhook does.
const (
	// DefaultTrialParallelCount is the default spec.parallelTrialCount.
	DefaultTrialParallelCount = 3

	// DefaultResumePolicy is the default spec.resumePolicy of an experiment and a
	// suggestion.
	DefaultResumePolicy = NeverResume
)
