from actionmail.cli import main

main()
