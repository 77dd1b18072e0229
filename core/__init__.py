"""The shared heart of the service: the CIFAR ResNet trainer and the job store.

Nothing is imported here, so that `import core.store` never pulls in torch and
`import core.trainer` never pulls in a database driver.
"""
