"""AWS layer: per cluster the VPC, the EKS cluster with its node group and add-ons, the load
balancer controller, and the VPC peerings of clusters that share a network."""
