// Package policy holds the pure decisions of kfup's training job reconciler: from a job and
// the pods and services it owns, at a given time, Decide computes the job's next status and
// the actions that bring the cluster there (pods to delete and why, whether to create the
// missing children, sidecars to stop, whether to delete the job, when to look again), plus
// the events that tell users about each transition. Nothing here talks to the API server;
// every function is table-tested.
//
// Each run policy of kubeflow.org/v1 lives in its own file: restart policies (restart.go),
// backoffLimit (backoff.go), activeDeadlineSeconds (deadline.go), ttlSecondsAfterFinished
// (ttl.go), cleanPodPolicy (cleanpod.go), suspend (suspend.go), pods that can never start
// (stuck.go) and sidecars that outlive the training container (sidecar.go). The status
// follows the Kubeflow Training Operator v1.9: the same condition types, reasons
// ("PyTorchJobRunning") and messages, replicaStatuses per replica type, and each kind's
// success rules (success.go). Where kfup deliberately differs, the file says so.
package policy
