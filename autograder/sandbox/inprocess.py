"""``--inprocess``: run student code in the test process, for debugging with pdb.

No isolation and no time limits. Values still round-trip through the codec, so a
test sees exactly what it would see from the real sandbox.
"""
from __future__ import annotations

import importlib
import sys

from . import InputMutated, StudentError, codec
from .worker import _describe_error, _resolve, _same, _snapshot


class InProcessSandbox:
    def __init__(self, submission_dir, probe_dirs=()):
        import os

        self.submission_dir = os.path.abspath(submission_dir)
        for path in [self.submission_dir, *reversed([os.path.abspath(p) for p in probe_dirs])]:
            if path not in sys.path:
                sys.path.insert(0, path)
        self.deadline = None
        self.deadline_reason = ""
        self.restarts = 0
        self._refused = {}

    def call(self, target, *args, **kwargs):
        return self.call_with(target, args, kwargs)

    def refuse(self, module, message):
        from .worker import _Blocker

        self._refused[module] = message
        if not any(isinstance(f, _Blocker) for f in sys.meta_path):
            sys.meta_path.insert(0, _Blocker(self._refused))  # shares the dict: probes cannot import it either
        sys.modules.pop(module, None)

    def _check_refused(self, module):
        from . import Refused

        if module in self._refused:
            raise Refused(self._refused[module])

    def call_with(self, target, args=(), kwargs=None, *, timeout=None, check_inputs=False):
        self._check_refused(target.split(":", 1)[0])
        value, _ = codec.decode(codec.encode([list(args), dict(kwargs or {})]), as_torch=True)
        names = [str(i + 1) for i in range(len(value[0]))] + ["%r" % k for k in value[1]]
        values = list(value[0]) + list(value[1].values())
        before = _snapshot(values) if check_inputs else None
        try:
            result = _resolve(target)(*value[0], **value[1])
        except Exception as exc:
            raise StudentError(target, _describe_error(exc, [self.submission_dir])) from exc
        if before is not None:
            changed = [n for n, old, new in zip(names, before, values) if not _same(old, new)]
            if changed:
                raise InputMutated("%s changed its input argument %s in place; leave inputs unchanged and "
                                   "return a new array (copy first if you must modify)"
                                   % (target.replace(":", "."), ", ".join(changed)))
        return codec.decode(codec.encode(result))[0]

    def call_pure(self, target, *args, **kwargs):
        return self.call_with(target, args, kwargs, check_inputs=True)

    def import_module(self, module, *, timeout=None):
        self._check_refused(module)
        importlib.import_module(module)

    def restart(self):
        """No worker to replace in-process (debugging only: no isolation)."""

    def close(self):
        pass
