"""The tester side: the nodes around the SUT, built on corenet.codecs and corenet.transport."""
