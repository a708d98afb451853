// Package xgboost is the XGBoostJob plug-in of the training engine. Every container of
// every replica gets what XGBoost's Rabit tracker (and LightGBM) need, exactly as the
// Kubeflow Training Operator v1.9 sets it: MASTER_PORT and MASTER_ADDR (the master's
// service "<job>-master-0" and its xgboostjob-port), WORLD_SIZE (all replicas), RANK
// (master 0, worker i is i+1), PYTHONUNBUFFERED=1 and, when there is more than one
// replica, WORKER_PORT and WORKER_ADDRS ("<job>-worker-0,<job>-worker-1,...").
package xgboost

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/engine"
)

const (
	// ControllerName is the operator-name label of XGBoostJob children.
	ControllerName = "xgboostjob-controller"
	// DefaultRestartPolicy is the restart policy of replicas that set none.
	DefaultRestartPolicy = trainingv1.RestartPolicyNever
)

// Environment variables set on XGBoostJob containers.
const (
	EnvMasterPort       = "MASTER_PORT"
	EnvMasterAddr       = "MASTER_ADDR"
	EnvWorldSize        = "WORLD_SIZE"
	EnvRank             = "RANK"
	EnvPythonUnbuffered = "PYTHONUNBUFFERED"
	EnvWorkerPort       = "WORKER_PORT"
	EnvWorkerAddrs      = "WORKER_ADDRS"
)

// kind is the XGBoostJob kind: its names, default container and port, replica types and
// where the job keeps its replica specs, run policy and status.
var kind = engine.KindSpec[*trainingv1.XGBoostJob]{
	KindName: trainingv1.XGBoostJobKind, Controller: ControllerName,
	Container: trainingv1.XGBoostJobDefaultContainerName,
	PortName:  trainingv1.XGBoostJobDefaultPortName, Port: trainingv1.XGBoostJobDefaultPort,
	Types: []trainingv1.ReplicaType{trainingv1.XGBoostJobReplicaTypeMaster, trainingv1.XGBoostJobReplicaTypeWorker},
	New:   func() *trainingv1.XGBoostJob { return &trainingv1.XGBoostJob{} },
	Specs: func(j *trainingv1.XGBoostJob) map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec {
		return j.Spec.XGBReplicaSpecs
	},
	Policy:   func(j *trainingv1.XGBoostJob) *trainingv1.RunPolicy { return &j.Spec.RunPolicy },
	StatusOf: func(j *trainingv1.XGBoostJob) *trainingv1.JobStatus { return &j.Status },
}

// Framework is the XGBoostJob plug-in.
type Framework struct {
	engine.KindSpec[*trainingv1.XGBoostJob]
}

var _ engine.Framework = (*Framework)(nil)

// New returns the XGBoostJob plug-in.
func New() *Framework { return &Framework{KindSpec: kind} }

func xgbJob(job engine.Job) *trainingv1.XGBoostJob { return job.(*trainingv1.XGBoostJob) }

// SetDefaults applies upstream's XGBoostJob defaults: cleanPodPolicy None, canonical
// replica type names, 1 replica, restart policy Never and port xgboostjob-port=9999 on the
// xgboost container.
func (fw *Framework) SetDefaults(job engine.Job) {
	j := xgbJob(job)
	engine.SetDefaultCleanPodPolicy(&j.Spec.RunPolicy, trainingv1.CleanPodPolicyNone)
	engine.NormalizeReplicaTypes(j.Spec.XGBReplicaSpecs, fw.ReplicaTypes())
	for _, spec := range j.Spec.XGBReplicaSpecs {
		if spec == nil {
			continue
		}
		engine.SetDefaultReplicas(spec, 1)
		engine.SetDefaultRestartPolicy(spec, DefaultRestartPolicy)
		engine.SetDefaultPort(&spec.Template.Spec, trainingv1.XGBoostJobDefaultContainerName,
			trainingv1.XGBoostJobDefaultPortName, trainingv1.XGBoostJobDefaultPort)
	}
}

// IsMasterRole is true for the Master.
func (*Framework) IsMasterRole(_ map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec, rtype trainingv1.ReplicaType, _ int) bool {
	return rtype == trainingv1.XGBoostJobReplicaTypeMaster
}

// SetClusterSpec sets the environment of every container of the replica.
func (*Framework) SetClusterSpec(job engine.Job, rtype trainingv1.ReplicaType, index int, tmpl *corev1.PodTemplateSpec) error {
	env, err := Env(xgbJob(job), rtype, index)
	if err != nil {
		return err
	}
	for i := range tmpl.Spec.Containers {
		engine.AddEnv(&tmpl.Spec.Containers[i], env...)
	}
	return nil
}

// Env is the environment of replica (rtype, index) of a defaulted job, in upstream's order.
func Env(j *trainingv1.XGBoostJob, rtype trainingv1.ReplicaType, index int) ([]corev1.EnvVar, error) {
	specs := j.Spec.XGBReplicaSpecs
	master := specs[trainingv1.XGBoostJobReplicaTypeMaster]
	if master == nil {
		return nil, fmt.Errorf("XGBoostJob has no Master replica")
	}
	rank := index
	if rtype == trainingv1.XGBoostJobReplicaTypeWorker {
		rank += int(engine.ReplicaCount(master))
	}
	masterPort, ok := engine.ContainerPort(master, trainingv1.XGBoostJobDefaultContainerName, trainingv1.XGBoostJobDefaultPortName)
	if !ok {
		return nil, fmt.Errorf("master has no port %q on container %q", trainingv1.XGBoostJobDefaultPortName, trainingv1.XGBoostJobDefaultContainerName)
	}
	total := int(engine.TotalReplicas(specs))

	env := []corev1.EnvVar{
		engine.EnvVar(EnvMasterPort, strconv.Itoa(int(masterPort))),
		engine.EnvVar(EnvMasterAddr, engine.ReplicaName(j.Name, trainingv1.XGBoostJobReplicaTypeMaster, 0)),
		engine.EnvVar(EnvWorldSize, strconv.Itoa(total)),
		engine.EnvVar(EnvRank, strconv.Itoa(rank)),
		engine.EnvVar(EnvPythonUnbuffered, "1"),
	}
	if total > 1 {
		workerPort, ok := engine.ContainerPort(specs[trainingv1.XGBoostJobReplicaTypeWorker],
			trainingv1.XGBoostJobDefaultContainerName, trainingv1.XGBoostJobDefaultPortName)
		if !ok {
			return nil, fmt.Errorf("worker has no port %q on container %q", trainingv1.XGBoostJobDefaultPortName, trainingv1.XGBoostJobDefaultContainerName)
		}
		// One address per replica but the master: upstream counts all replicas less one.
		addrs := make([]string, total-1)
		for i := range addrs {
			addrs[i] = engine.ReplicaName(j.Name, trainingv1.XGBoostJobReplicaTypeWorker, i)
		}
		env = append(env,
			engine.EnvVar(EnvWorkerPort, strconv.Itoa(int(workerPort))),
			engine.EnvVar(EnvWorkerAddrs, strings.Join(addrs, ",")),
		)
	}
	return env, nil
}
