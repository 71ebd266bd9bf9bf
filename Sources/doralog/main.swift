import DoraCLI

Doralog.runAndExit()
