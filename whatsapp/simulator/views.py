from django.http import HttpResponse


def simulator(request):
    return HttpResponse("simulator")
