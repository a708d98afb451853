// Package controller runs kfup's kubeflow.org/v1 training jobs: one generic Reconciler,
// instantiated once per kind (TFJob, PyTorchJob, MPIJob, XGBoostJob, JAXJob, PaddleJob)
// with that kind's engine.Framework, each a controller of its own in kfup's manager.
//
// Reconcile is thin, as the engine's design note asks: fetch the job (gone, being deleted,
// or managed by another controller: nothing to do), list the pods and services it controls,
// let policy.Decide compute the next status and the actions, write the status once (status
// subresource, only when it changed, with an event for every transition) and then carry the
// actions out. Writing first matters: the job comes from the manager's cache, which may lag
// behind the job's last write; such a reconcile fails on the write (a conflict, retried
// shortly) before it has deleted anything on the strength of a status it could not record.
// The decisions (run policies, conditions, success rules) are pure functions in package
// policy, table-tested; this package only talks to the API server and is tested against a
// real one (envtest).
//
// Children are created, never updated: pods are immutable, and a replica's pod and service
// do not change while they exist. Missing ones are created from engine.Desired, unwanted
// ones (after a scale-down) deleted; extras (MPI's ConfigMap and launcher RBAC, PyTorch's
// HPA) are server-side applied, as they follow the job. The job owns all of them (owner
// references), so the pod and service watches bring changes back to its reconciler, and
// deleting the job deletes them. The only change made to an existing pod is the ephemeral
// container that stops a lingering Istio sidecar (see policy's sidecar.go).
//
// # Helper images
//
// Three helpers run in job pods: PyTorch workers' init container that waits for the
// master's DNS name, the ephemeral container that stops a lingering istio-proxy, and MPI's
// launcher init container that delivers the exec client. Upstream pulls alpine:3.10 and
// kubeflow/kubectl-delivery from Docker Hub, which offline clusters cannot. kfup's manager
// runs all three from its own image, which kfup loads on every node (Config.WithKfupImage,
// fed from the manager's KFUP_IMAGE): `kfup agent wait-for-host`, `kfup agent quit-sidecar`
// and `kfup agent mpi-delivery`, which installs the kfup binary as the launcher's
// /opt/kube/kubectl; invoked under that name kfup answers `kubectl exec POD [-c C] -- CMD`
// over the exec subresource, which is all mpirun's kubexec.sh needs (no ssh keys, no
// kubectl image). DefaultConfig alone (tests, other managers) uses shell scripts in
// DefaultHelperImage (kfup's offline busybox) and upstream's delivery image; the zero
// Config is upstream's choice for all three.
package controller
