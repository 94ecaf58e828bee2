# Read by HashiCorp's integration tooling (packer/<org>/<plugin>); see docs/ for the sources of
# the pages under .web-docs/components.
integration {
  name        = "Nutanix"
  description = "Build virtual machine images on Nutanix AHV through Prism Central (v3 API)."
  identifier  = "packer/nutanix-cloud-native/nutanix"
  docs {
    process_docs    = true
    readme_location = "./README.md"
  }
  license {
    type = "MPL-2.0"
    url  = "https://github.com/nutanix-cloud-native/packer-plugin-nutanix/blob/main/LICENSE"
  }
  component {
    type = "builder"
    name = "Nutanix"
    slug = "nutanix"
  }
}
