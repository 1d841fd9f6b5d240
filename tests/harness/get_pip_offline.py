# -*- coding: utf-8 -*-
"""Stand-in for ansible-test's pip bootstrap script (get-pip.py).

ansible-test downloads get-pip from ci-files.testing.ansible.com, which machines
without general internet access cannot reach.  This does the same job with the
interpreter's own ensurepip plus PyPI: bootstrap pip, then install the
requested packages (the arguments ansible-test passes to get-pip).
"""
import ensurepip
import os
import subprocess
import sys

# get-pip's own switches (pip install does not know them)
args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
ensurepip.bootstrap(upgrade=True)
# ansible-test runs this with few of the caller's variables (no PIP_CERT): name the system CA
# bundle, which a TLS-inspecting network's chain needs
CA = os.environ.get('PIP_CERT') or '/etc/ssl/certs/ca-certificates.crt'
cert = ['--cert', CA] if os.path.isfile(CA) else []
sys.exit(subprocess.call([sys.executable, '-m', 'pip', 'install', '--upgrade'] + cert + args))
