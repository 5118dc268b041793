"""Engine calls as QgsTasks: parameters in, a typed result out, the GUI updated on the main thread."""
