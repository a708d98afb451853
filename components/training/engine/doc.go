// Package engine is the pure, framework-agnostic desired-state layer of kfup's training
// job controllers: given a kubeflow.org/v1 job, it computes the pods, services and other
// children the job should have, with the Kubeflow Training Operator v1.9's names, labels
// and environment. It has no client and no side effects; everything is a function of its
// arguments and is unit-tested with tables.
//
// A Framework plug-in (see package frameworks and its sub-packages) describes one kind:
// its container and port, its defaults, which replica leads, and SetClusterSpec, which
// writes the environment that lets the replicas find each other (TF_CONFIG, MASTER_ADDR,
// ...). The engine does the rest, the same for every kind:
//
//   - one pod per replica index, named ReplicaName: "<job>-<lowercased type>-<index>";
//   - one headless service (clusterIP None) per pod, of the same name, selecting that pod
//     by its ReplicaLabels and exposing the framework container's ports, so peers reach
//     "<job>-<type>-<index>" (or "<job>-<type>-<index>.<ns>.svc") by DNS. The pod keeps
//     the default hostname, its own name, so it resolves that name locally too; hostname
//     and subdomain are not set (a hostname may not exceed 63 characters, a pod name may);
//   - labels training.kubeflow.org/{operator-name,job-name,replica-type,replica-index},
//     and job-role=master on the replica the framework calls master, over the template's;
//   - a controller owner reference (blockOwnerDeletion) to the job;
//   - restartPolicy from the replica spec, ExitCode mapped to Never;
//   - sidecar.istio.io/inject: "false" unless the template decides (see sidecar.go).
//
// # How the reconciler uses this package
//
// The reconciler stays thin (fetch, compute, apply, one status write):
//
//  1. Fetch the job; ignore it when not found, being deleted, or managed by another
//     controller (runPolicy.managedBy).
//  2. List the pods and services it owns (by JobLabels and owner reference).
//  3. If the job is finished, clean pods up by cleanPodPolicy and handle
//     ttlSecondsAfterFinished. If runPolicy.suspend is true, delete its pods and services
//     (and extras such as the HPA) and set the Suspended condition. Otherwise:
//  4. Desired(fw, job, pods) gives every child. Match existing children to desired ones by
//     name: create the missing ones (pods and services are created, never updated: pods
//     are immutable and the desired state of an index does not change while it exists);
//     delete owned pods and services whose name is not desired (scale-down). Apply extras
//     (ConfigMap, RBAC, HPA) with server-side apply, as they may change.
//  5. For each pod in phase Failed, OnPodFailed(spec.restartPolicy,
//     ContainerExitCode(pod, fw.DefaultContainerName())) says whether to delete it for a
//     restart (Restarting condition), fail the job, or keep it; backoffLimit counts the
//     restarts and activeDeadlineSeconds bounds the run.
//  6. Stop LingeringSidecars of pods whose framework container is done.
//  7. Count pods per replica type into status.replicaStatuses (with ReplicaTypeSelector as
//     the selector), apply the framework's success rules (e.g. TF's chief or worker 0,
//     PyTorch's master, MPI's launcher) and write the status once, emitting an event for
//     every condition change.
//
// Gang scheduling (PodGroups, schedulerName) is not part of the desired pods yet.
package engine
