#!/usr/bin/env node
import { run } from "./cli/Cli.js"

run(process.argv.slice(2))
