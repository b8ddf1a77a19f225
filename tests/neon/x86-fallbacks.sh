#!/usr/bin/env bash
# Runs the kernel self-check on this x86 machine once per ISA level, switching instruction sets off in the runtime
# (the process picks its kernel family from IsSupported at start-up, so each run proves one fallback chain).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dotnet build "$here/KernelCheck" -c Release -nologo -v quiet
dll="$here/KernelCheck/bin/Release/net10.0/KernelCheck.dll"
for env in "X=1" "DOTNET_EnableGFNI=0" "DOTNET_EnableAVX512=0" "DOTNET_EnableAVX2=0" "DOTNET_EnableHWIntrinsic=0"; do
  echo "== $env"
  env "$env" dotnet "$dll"
done
