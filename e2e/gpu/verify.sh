#!/usr/bin/env bash
# verify.sh runs kfup's whole GPU path on a host that has an NVIDIA GPU, as one script:
# create --gpu, gpu list, doctor --gpu, test --gpu, a GPU PyTorchJob to Succeeded, two pods
# sharing one GPU under --gpu-share 2, and delete. It is not run in CI (no GPU there); see
# docs/gpu.md for how to run it and where its output is recorded.
#
# Environment (all optional):
#   KFUP            the kfup binary (default: kfup in PATH)
#   KFUP_GPU_NAME   the cluster name (default gpu-verify; the shared one gets -share)
#   CUDA_IMAGE      image of the nvidia-smi pods (default: kfup test --gpu's default)
#   TORCH_IMAGE     image of the PyTorch pod and job
#   JOB_TIMEOUT     how long the PyTorchJob and the shared pods may take (default 15m)
#   KEEP_CLUSTERS   1 keeps the clusters on exit, for debugging
set -euo pipefail

KFUP=${KFUP:-kfup}
NAME=${KFUP_GPU_NAME:-gpu-verify}
SHARE_NAME="${NAME}-share"
CUDA_IMAGE=${CUDA_IMAGE:-nvcr.io/nvidia/cuda:12.4.1-base-ubuntu22.04}
TORCH_IMAGE=${TORCH_IMAGE:-pytorch/pytorch:2.4.1-cuda12.4-cudnn9-runtime}
JOB_TIMEOUT=${JOB_TIMEOUT:-15m}
KEEP_CLUSTERS=${KEEP_CLUSTERS:-0}
# kfup's CDI spec mounts the driver libraries here; put it first for images that lack it
# shellcheck disable=SC2016 # expanded in the pods, not here
LIBS='export LD_LIBRARY_PATH="/usr/local/nvidia/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"'

STEPS=()
RESULTS=()
TIMES=()
CREATED=()

log() { printf '\n=== %s\n' "$*" >&2; }
die() { printf 'verify.sh: %s\n' "$*" >&2; exit 1; }

# step NAME FUNC runs FUNC and records its result and duration; a failed step ends the
# script (the trap deletes the clusters and prints the summary).
step() {
	local name=$1 start rc=0
	shift
	log "$name"
	start=$(date +%s)
	"$@" || rc=$?
	STEPS+=("$name")
	TIMES+=("$(($(date +%s) - start))s")
	if [[ $rc -eq 0 ]]; then
		RESULTS+=("pass")
	else
		RESULTS+=("FAIL (exit $rc)")
		exit "$rc"
	fi
}

summary() {
	local rc=$? i
	if [[ $KEEP_CLUSTERS != 1 ]]; then
		for c in "${CREATED[@]}"; do
			"$KFUP" delete --name "$c" >&2 || printf 'verify.sh: could not delete cluster %s\n' "$c" >&2
		done
	fi
	printf '\n%-40s %-16s %s\n' "STEP" "RESULT" "TIME"
	for i in "${!STEPS[@]}"; do
		printf '%-40s %-16s %s\n' "${STEPS[$i]}" "${RESULTS[$i]}" "${TIMES[$i]}"
	done
	if [[ $rc -eq 0 ]]; then
		printf '\nGPU path verified on %s (kfup %s)\n' "$(hostname)" "$("$KFUP" version 2>/dev/null | head -n1 || true)"
	else
		printf '\nverify.sh failed (exit %d); KEEP_CLUSTERS=1 keeps the clusters for a look\n' "$rc"
	fi
	exit "$rc"
}
trap summary EXIT

kc() { kubectl --context "kfup-$1" "${@:2}"; }

prerequisites() {
	local missing=()
	for c in "$KFUP" docker kubectl nvidia-smi; do
		command -v "$c" >/dev/null 2>&1 || missing+=("$c")
	done
	[[ ${#missing[@]} -eq 0 ]] || { echo "missing in PATH: ${missing[*]} (KFUP=/path/to/kfup points at a build)" >&2; return 1; }
	nvidia-smi -L || { echo "nvidia-smi -L fails: install or load the NVIDIA driver (see 'kfup doctor --gpu')" >&2; return 1; }
	docker info --format '{{.ServerVersion}}' >/dev/null || { echo "docker is not reachable: start it ('sudo systemctl start docker')" >&2; return 1; }
	for c in "$NAME" "$SHARE_NAME"; do
		if "$KFUP" status --name "$c" >/dev/null 2>&1; then
			echo "a kfup cluster named $c exists already: delete it with 'kfup delete --name $c'" >&2
			return 1
		fi
	done
}

create() {
	CREATED+=("$1")
	"$KFUP" create --name "$1" --gpu "${@:2}"
}

pytorchjob() {
	kc "$NAME" apply -f - <<YAML || return 1
apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata:
  name: gpu-matmul
  namespace: default
spec:
  pytorchReplicaSpecs:
    Worker:
      replicas: 1
      restartPolicy: Never
      template:
        spec:
          containers:
          - name: pytorch
            image: ${TORCH_IMAGE}
            imagePullPolicy: IfNotPresent
            command:
            - sh
            - -c
            - |
              ${LIBS}
              exec python -c '
              import torch
              assert torch.cuda.is_available(), "no CUDA"
              a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
              err = ((a.cuda() @ b.cuda()).cpu() - a @ b).abs().max().item()
              print("device", torch.cuda.get_device_name(0), "max_abs_err", err)
              assert err < 1e-2, err
              '
            resources:
              limits:
                nvidia.com/gpu: 1
YAML
	if ! kc "$NAME" wait --for=condition=Succeeded pytorchjob/gpu-matmul --timeout="$JOB_TIMEOUT"; then
		kc "$NAME" get pytorchjob gpu-matmul -o yaml || true
		kc "$NAME" describe pods || true
		kc "$NAME" logs -l training.kubeflow.org/job-name=gpu-matmul --tail=50 || true
		return 1
	fi
	kc "$NAME" logs -l training.kubeflow.org/job-name=gpu-matmul --tail=5 || true
}

# shared_resource prints the resource the shared cluster's node advertises, and checks it
# has at least two units.
shared_resource() {
	local res n
	for res in nvidia.com/gpu.shared nvidia.com/gpu; do
		n=$(kc "$SHARE_NAME" get nodes -o jsonpath="{.items[*].status.allocatable.${res//./\\.}}")
		if [[ -n $n ]]; then
			[[ ${n%% *} -ge 2 ]] || { echo "$res: $n units, want at least 2 under --gpu-share 2" >&2; return 1; }
			echo "$res"
			return 0
		fi
	done
	echo "no node advertises nvidia.com/gpu(.shared)" >&2
	return 1
}

two_pods_share() {
	local res p
	res=$(shared_resource) || return 1
	for p in share-a share-b; do
		kc "$SHARE_NAME" apply -f - <<YAML || return 1
apiVersion: v1
kind: Pod
metadata:
  name: ${p}
  namespace: default
spec:
  restartPolicy: Never
  containers:
  - name: cuda
    image: ${CUDA_IMAGE}
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", '${LIBS}; nvidia-smi -L && sleep 600']
    resources:
      limits:
        ${res}: 1
YAML
	done
	if ! kc "$SHARE_NAME" wait --for=jsonpath='{.status.phase}'=Running pod/share-a pod/share-b --timeout="$JOB_TIMEOUT"; then
		kc "$SHARE_NAME" describe pods share-a share-b || true
		return 1
	fi
	sleep 3
	for p in share-a share-b; do
		kc "$SHARE_NAME" logs "$p" | grep -E '^GPU [0-9]+: ' || { echo "pod $p lists no GPU" >&2; return 1; }
	done
}

step "prerequisites" prerequisites
step "kfup create --gpu --name $NAME" create "$NAME"
step "kfup gpu list" "$KFUP" gpu list
step "kfup doctor --gpu" "$KFUP" doctor --gpu
step "kfup test --gpu (nvidia-smi, pytorch)" "$KFUP" test --name "$NAME" --gpu --gpu-image "$CUDA_IMAGE" --gpu-image-pytorch "$TORCH_IMAGE"
step "PyTorchJob on nvidia.com/gpu: 1" pytorchjob
step "kfup delete --name $NAME" "$KFUP" delete --name "$NAME"
CREATED=()
step "kfup create --gpu --gpu-share 2" create "$SHARE_NAME" --gpu-share 2
step "two pods share one GPU, both Running" two_pods_share
step "kfup delete --name $SHARE_NAME" "$KFUP" delete --name "$SHARE_NAME"
CREATED=()
