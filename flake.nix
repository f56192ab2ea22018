{
  description = "Switchyard: an OpenAI- and Anthropic-compatible LLM gateway with preference routing and session pinning";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";
    flake-utils.url = "github:numtide/flake-utils";
  };

  outputs = { self, nixpkgs, flake-utils }:
    flake-utils.lib.eachDefaultSystem (system:
      let
        pkgs = import nixpkgs { inherit system; };
      in
      {
        # `nix develop`, then `npm install && npm start` and `npm test` as in the README.
        devShells.default = pkgs.mkShell {
          packages = [
            pkgs.nodejs_22
            pkgs.redis # the pin-cache Redis tests and .ci/run
            pkgs.wrk # optional load generator for ../shared/bench
            pkgs.curl
            pkgs.jq
            pkgs.git
            pkgs.util-linux # taskset / unshare used by the benches
          ];
          shellHook = ''
            export PATH="$PWD/node_modules/.bin:$PATH"
            echo "switchyard dev shell: node $(node --version)"
          '';
        };
      });
}
