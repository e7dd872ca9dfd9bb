"""Applications of the zoo: one package each, the same four modules in every one."""
