#!/usr/bin/env node
import { run } from "./Cli.js"

run(process.argv.slice(2))
