# e2e tests of the incidents service (being written)
