from sakspost.cli import main

main()
