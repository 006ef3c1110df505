# Sourced by the check scripts: a project-local virtualenv holding pinned PyPI packages.
# The caller defines die() and sets VENV (the venv's directory), PINS (the pip specs) and
# VENV_PROBE (a file under $VENV/bin whose presence means the install finished).

pick_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3.11 python3; do
    [[ -n "$candidate" ]] || continue
    if command -v "$candidate" >/dev/null 2>&1 \
      && "$candidate" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
      echo "$candidate"
      return
    fi
  done
  die "no Python >= 3.9 with venv and ensurepip found (set PYTHON=...)"
}

# Reuses the venv when its recorded pins match; otherwise builds it anew.
ensure_venv() {
  local stamp="$VENV/.pins" wanted log py
  wanted=$(printf '%s\n' "${PINS[@]}")
  if [[ -x "$VENV/bin/$VENV_PROBE" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
    return
  fi
  py=$(pick_python)
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  "$py" -m venv "$VENV"
  log=$(mktemp)
  if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PINS[@]}" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    rm -rf "$VENV" # never leave a half-installed venv that a later run would trust
    die "installing ${PINS[*]} failed"
  fi
  rm -f "$log"
  printf '%s' "$wanted" >"$stamp"
}
