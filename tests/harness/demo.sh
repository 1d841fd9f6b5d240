#!/usr/bin/env bash
# make demo: run playbooks/demo.yml on this host when it has device-mapper,
# otherwise in a qemu guest (tests/harness/vm.sh) reached over ssh, with the
# Ansible controller staying on this host.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
export ANSIBLE_COLLECTIONS_PATH=$ROOT/.build/collections ANSIBLE_LOCALHOST_WARNING=False
export ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_NOCOLOR=${ANSIBLE_NOCOLOR:-1}
PLAY=(ansible-playbook playbooks/demo.yml "$@")
if grep -qw device-mapper /proc/misc 2>/dev/null && [ -z "${CINDERKIT_FORCE_VM:-}" ]; then
  echo "[demo] this host has device-mapper: running the demo here, on localhost"
  exec "$ROOT/.venv/bin/${PLAY[0]}" "${PLAY[@]:1}" -i localhost, -c local \
    -e ansible_python_interpreter="$ROOT/.venv/bin/python"
fi
echo "[demo] this host has NO device-mapper: booting a qemu guest with a real kernel storage stack"
echo "[demo] (tests/harness/vm.sh; the Ansible controller stays here, modules run in the guest over ssh)"
NAME=demo-$$
trap 'tests/harness/vm.sh stop "$NAME" >/dev/null 2>&1 || true' EXIT INT TERM
read -r host port key user < <(tests/harness/vm.sh start "$NAME" | tail -1)
INV=$ROOT/.build/vm/$NAME/inventory.ini
cat > "$INV" <<INI
[demo]
cinderkit-vm ansible_host=$host ansible_port=$port ansible_user=$user ansible_ssh_private_key_file=$key ansible_python_interpreter=$ROOT/.venv/bin/python ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'
INI
"$ROOT/.venv/bin/${PLAY[0]}" "${PLAY[@]:1}" -i "$INV" -e demo_hosts=demo -e demo_start_tgtd=true \
  -e demo_dir=/mnt/scratch/cinderkit-demo
