"Language models in the environment's seat: the ToolEmu tool emulator and the Safety and helpfulness judges."
