import DoraCLI

await Doralog.runAndExit()
