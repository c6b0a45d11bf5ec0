# Waiting for a Slurm job, for the tests that submit them (source it; the test defines `fail`).
#   wait_job ID SECONDS   prints the job's final "JobState=... ExitCode=..."; on timeout cancels it
#                         and fails. Polls scontrol every 0.2 s (sbatch --wait polls far slower).
wait_job() {
  local id=$1 limit=$2 start state
  start=$(date +%s)
  while :; do
    state=$(scontrol show job "$id" 2>/dev/null | grep -oE "JobState=[A-Z_]+|ExitCode=[0-9]+:[0-9]+" | tr '\n' ' ')
    case "$state" in *JobState=COMPLETED*|*JobState=FAILED*|*JobState=CANCELLED*|*JobState=TIMEOUT*|*JobState=NODE_FAIL*)
      echo "$state"; return 0 ;; esac
    [ $(( $(date +%s) - start )) -lt "$limit" ] || { scancel "$id"; fail "job $id still running after $limit s: $state"; }
    sleep 0.2
  done
}
